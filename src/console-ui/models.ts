// The API's answers as the console reads them (README "The API"; the same JSON a signed call gets).

export interface Session {
  Account: string;
  AccessKeyId: string;
  CsrfToken: string;
  IdleTimeoutSeconds: number;
}

export interface Instance {
  AndroidInstanceId: string;
  AndroidInstanceName: string;
  AndroidInstanceStatus: string;
  ErrorCode: string;
  Rate: number;
  SystemVersion: string;
  Abi: string;
  ImageId: string;
  InstanceType: string;
}

export interface BackupFile {
  BackupFileId: string;
  BackupFileName: string;
  BackupFilePath: string;
  AndroidInstanceId: string;
  AndroidInstanceName: string;
  Status: string;
  FileSize: number;
  SourceAppInfoList: string[];
  SourceFilePathList: string[];
  GmtCreated: string;
  Description: string;
  BackupAll: boolean;
  UploadEndpoint: string;
  SystemVersion: string;
}

export interface Task {
  TaskId: string;
  ParentTaskId: string;
  Level: number;
  TaskType: string;
  TaskStatus: string;
  InstanceId: string;
  InstanceName: string;
  ResourceId: string;
  StartTime: string;
  FinishTime: string;
  ErrorCode: string;
  ErrorMsg: string;
  TotalChildCount: number;
  SuccessChildCount: number;
  FailedChildCount: number;
  RunningChildCount: number;
  BytesDone: number;
  BytesTotal: number;
}

export interface InstancesAnswer {
  TotalCount: number;
  NextToken?: string;
  InstanceModel: Instance[];
}

export interface BackupFilesAnswer {
  TotalCount: number;
  NextToken?: string;
  Data: BackupFile[];
}

export interface TasksAnswer {
  TotalCount: number;
  NextToken?: string;
  Data: Task[];
}

/** BackupApp's and RecoverApp's answer: the batch task and one task per instance */
export interface StartedAnswer {
  TaskId: string;
  Count: number;
}

export interface RestoreVerdicts {
  backupFileId: string;
  restorable: boolean;
  reason: string;
  targets: { instanceId: string; compatible: boolean; code: string; message: string }[];
}
