// Table types for Kysely. Columns are snake_case in SQL and camelCase here (CamelCasePlugin).
// Portable across SQLite and PostgreSQL: ids and enums are text, times are ISO-8601 UTC text
// (`Date#toISOString()`, so text order is time order), counters are integer/bigint numbers,
// lists and documents are JSON text.

export interface AccountTable {
  name: string;
  created: string;
}

export interface AccessKeyTable {
  accessKeyId: string;
  accessKeySecret: string;
  account: string;
  created: string;
}

export interface NonceTable {
  nonce: string;
  expiresAt: string;
}

export interface InstanceTable {
  id: string;
  account: string;
  name: string;
  adbAddress: string;
  imageId: string;
  imageVersion: string;
  imageType: string;
  instanceType: string;
  androidVersion: string;
  sdk: number;
  abi: string;
  fingerprint: string;
  status: string;
  errorCode: string | null;
  rate: number;
  created: string;
  modified: string;
  /** Alibaba's instance group (ag-…) and end user, as the operator registered them (migration 0004) */
  instanceGroupId: string | null;
  endUserId: string | null;
  /** what the phone last reported (src/devices/hardware-facts.ts); null: it did not say */
  cpuCount: number | null;
  /** MiB */
  memoryMb: number | null;
  displayWidth: number | null;
  displayHeight: number | null;
  displayDpi: number | null;
  networkIp: string | null;
}

export interface BackupFileTable {
  id: string;
  account: string;
  instanceId: string;
  instanceName: string;
  name: string;
  description: string;
  path: string;
  endpoint: string;
  bucket: string;
  objectKey: string;
  status: string;
  size: number;
  sha256: string | null;
  apps: string;
  /** JSON list: BackupFile's normalised SourceFilePathList (migration 0005_file_backups) */
  sourcePaths: string;
  manifest: string | null;
  taskId: string | null;
  created: string;
  modified: string;
  /** the source instance's group and end user when the backup was made (migration 0004) */
  instanceGroupId: string | null;
  endUserId: string | null;
  /** 1 for a whole-instance backup (BackupAndroidInstance), else 0 */
  backupAll: number;
}

export interface TaskTable {
  id: string;
  account: string;
  parentId: string | null;
  level: number;
  type: string;
  status: string;
  invokeId: string;
  resourceId: string | null;
  instanceId: string | null;
  instanceName: string | null;
  param: string;
  result: string | null;
  errorCode: string | null;
  errorMsg: string | null;
  bytesDone: number;
  bytesTotal: number;
  childTotal: number;
  childSuccess: number;
  childFailed: number;
  childRunning: number;
  startTime: string | null;
  finishTime: string | null;
  attempts: number;
  leaseOwner: string | null;
  leaseExpires: string | null;
  /** Waiting after a transient fault: not claimed before this time */
  notBefore: string | null;
  /** set by CancelTasks while the task runs: when, and by which request */
  cancelRequested: string | null;
  created: string;
  modified: string;
}

/** an app the service suspended on a phone for a backup and has not yet resumed */
export interface SuspensionTable {
  instanceId: string;
  package: string;
  /** the task that suspended it */
  taskId: string;
  created: string;
}

/** a ClientToken an account sent with a task-creating action, and what that call answered */
export interface ClientTokenTable {
  account: string;
  action: string;
  token: string;
  paramsSha256: string;
  /** the response body as JSON text */
  response: string;
  requestId: string;
  created: string;
}

export interface Database {
  accounts: AccountTable;
  accessKeys: AccessKeyTable;
  nonces: NonceTable;
  instances: InstanceTable;
  backupFiles: BackupFileTable;
  tasks: TaskTable;
  suspensions: SuspensionTable;
  clientTokens: ClientTokenTable;
}
