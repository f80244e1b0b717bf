// The one error catalogue. Domain and infrastructure code throw `ServiceError`s built here;
// the API edge (src/api/error-envelope.ts) renders them as Alibaba's envelope, and the task
// runner stores `code`/`message` as a task's ErrorCode/ErrorMsg.

export class ServiceError extends Error {
  /** a fault that may pass (a connection reset, a store's 5xx): a task failing with it is retried */
  transient = false;

  constructor(
    readonly code: string,
    readonly httpStatus: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ServiceError';
  }
}

const transient = (e: ServiceError) => {
  e.transient = true;
  return e;
};

const make = (code: string, status: number, message: string) => new ServiceError(code, status, message);

export const ERRORS = {
  // gateway / protocol
  missingParameter: (name: string) =>
    make(
      'MissingParameter',
      400,
      `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
    ),
  invalidParameter: (name: string, why: string) =>
    make('InvalidParameter', 400, `The parameter "${name}" is invalid: ${why}`),
  incompleteSignature: (why: string) => make('IncompleteSignature', 400, `The request signature is incomplete: ${why}`),
  signatureDoesNotMatch: (stringToSign: string) =>
    make(
      'SignatureDoesNotMatch',
      400,
      `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
    ),
  accessKeyNotFound: () => make('InvalidAccessKeyId.NotFound', 404, 'Specified access key is not found.'),
  timestampExpired: () => make('InvalidTimeStamp.Expired', 400, 'Specified time stamp or date value is expired.'),
  nonceUsed: () => make('SignatureNonceUsed', 400, 'Specified signature nonce was used already.'),
  actionNotFound: () =>
    make('InvalidAction.NotFound', 404, 'Specified api is not found, please check your url and method.'),
  invalidVersion: () => make('InvalidVersion', 400, 'Specified parameter Version is not valid.'),
  forbidden: (why: string) => make('Forbidden', 403, why),
  // the web console (src/api/console): one answer for an unknown key and a wrong secret
  consoleSignInRefused: () => make('InvalidCredentials', 401, 'The AccessKeyId or the AccessKeySecret is wrong.'),
  consoleSessionRequired: () =>
    make('ConsoleSessionRequired', 401, 'Sign in to the console: the session is missing or has expired.'),
  internal: () => make('InternalError', 500, 'The request processing has failed due to some unknown error.'),
  timestampFormat: () =>
    make('InvalidTimeStamp.Format', 400, 'Specified time stamp or date value is not well formatted.'),
  unsupportedMediaType: (type: string) =>
    make(
      'UnsupportedMediaType',
      415,
      `The content type ${JSON.stringify(type.slice(0, 100))} is not supported; send application/x-www-form-urlencoded.`,
    ),
  requestTooLarge: (limit: number) =>
    make('RequestEntityTooLarge', 413, `The request body is larger than ${limit} bytes.`),
  badRequest: (why: string) => make('BadRequest', 400, `The request is malformed: ${why}`),
  headersTooLarge: (limit: number) =>
    make(
      'RequestHeaderFieldsTooLarge',
      431,
      `The request line and headers are larger than ${limit} bytes together (the URL counts); send the parameters in a POST form body instead.`,
    ),
  requestTimeout: () => make('RequestTimeout', 408, 'The request was not received in time.'),
  serviceUnavailable: (why: string) =>
    make('ServiceUnavailable', 503, `The service is temporarily unavailable: ${why}`),

  // resources
  instanceNotFound: (id: string) =>
    make('InvalidAndroidInstanceId.NotFound', 404, `The specified instance ${id} does not exist.`),
  backupFileNotFound: (id: string) =>
    make('InvalidBackupFileId.NotFound', 404, `The specified backup file ${id} does not exist.`),
  backupFileInUse: (id: string, status: string) =>
    make('IncorrectBackupFileStatus', 409, `The backup file ${id} is ${status} and cannot be used for this operation.`),
  tooManyPendingTasks: (id: string, count: number, max: number) =>
    make(
      'TooManyPendingTasks',
      409,
      `The instance ${id} already has ${count} unsettled tasks (at most ${max}); wait for some of them to finish.`,
    ),
  /** a ClientToken reused within 24 h with other parameters (the name ECS, VPC and ROS use; docs/api-models.md) */
  idempotentParameterMismatch: (action: string) =>
    make(
      'IdempotentParameterMismatch',
      409,
      `The ClientToken was used in the last 24 hours by a ${action} request with other parameters; send that request unchanged, or use a new ClientToken.`,
    ),
  endpointUnknown: (endpoint: string) =>
    make('InvalidUploadEndpoint.NotFound', 400, `No object store is configured for endpoint ${endpoint}.`),
  unsafeArchiveEntry: (entry: string, why: string) =>
    make('UnsafeBackupEntry', 400, `The backup file holds an unsafe entry ${JSON.stringify(entry)}: ${why}.`),
  corruptBackup: (why: string) => make('BackupFileCorrupted', 400, `The backup file is damaged: ${why}.`),

  // task failures (a task's ErrorCode / ErrorMsg)
  appNotInstalled: (pkg: string, instanceId: string) =>
    make('AppNotInstalled', 400, `The app ${pkg} is not installed on instance ${instanceId}.`),
  instanceUnreachable: (instanceId: string, why: string) =>
    transient(make('InstanceUnreachable', 503, `Instance ${instanceId} cannot be reached over ADB: ${why}`)),
  /** the phone's own words decide: a write that failed for space (toybox/Bionic strerror) is DeviceStorageFull */
  deviceCommandFailed: (instanceId: string, why: string) =>
    /No space left on device|ENOSPC|Disk quota exceeded/.test(why)
      ? ERRORS.deviceStorageFull(instanceId, why)
      : make('DeviceOperationFailed', 500, `An operation on instance ${instanceId} failed: ${why}`),
  userStorageLocked: (instanceId: string) =>
    make(
      'UserStorageLocked',
      409,
      `The credential-encrypted storage of user 0 on instance ${instanceId} is locked: the phone has not been unlocked since it started, so app data cannot be read or written. Unlock it and retry.`,
    ),
  suspendRefused: (pkg: string, instanceId: string) =>
    make(
      'AppSuspendRefused',
      409,
      `The package manager on instance ${instanceId} refused to suspend ${pkg} (a default launcher, dialer or SMS app, or a device admin), and the service is set to require a suspended copy (backup.requireSuspension).`,
    ),
  fileTooLarge: (path: string, size: number, androidVersion: string) =>
    make(
      'FileTooLargeForAndroid',
      400,
      `${path} is ${size} bytes; the tar of Android ${androidVersion} cannot restore files of 2 GiB or more, so a backup holding it could never be restored there.`,
    ),
  sourceChanged: (path: string, why: string) =>
    make(
      'SourceChangedDuringBackup',
      409,
      `${path} changed on the phone while it was copied (${why}); the app kept running or another process wrote to it. Retry the backup.`,
    ),
  /** BackupFile: none of the paths and apps a request named could be backed up (each one's reason in the message) */
  nothingToBackUp: (instanceId: string, reasons: string) =>
    make('FilePathNotFound', 400, `Nothing the request named could be backed up on instance ${instanceId}: ${reasons}`),
  deviceTarMalformed: (what: string, why: string) =>
    make('DeviceOperationFailed', 500, `The phone's tar stream of ${what} is malformed: ${why}`),
  compressionFailed: (why: string) => make('CompressionFailed', 500, `Compressing the archive failed: ${why}`),
  storageFailed: (why: string, opts: { transient?: boolean } = {}) => {
    const e = make('StorageOperationFailed', 500, `The object store failed: ${why}`);
    return opts.transient ? transient(e) : e;
  },
  taskInterrupted: (attempts: number) =>
    make(
      'TaskInterrupted',
      500,
      `The worker running this task stopped ${attempts} time(s); the task was not retried again.`,
    ),
  taskCancelled: (by: string) => make('TaskCancelled', 409, `The task was cancelled (${by}).`),
  taskNotFound: (id: string) => make('InvalidTaskId.NotFound', 404, `The specified task ${id} does not exist.`),
  /** the phone's /data is full: a restore cannot stage, a backup's staging on the phone cannot be written */
  deviceStorageFull: (instanceId: string, why: string) =>
    make('DeviceStorageFull', 507, `Instance ${instanceId} has no space left: ${why}`),
  /** the object store (or the local disk behind the fs store) is full or over its quota */
  storageQuotaExceeded: (why: string) =>
    make('StorageQuotaExceeded', 507, `The object store has no space left: ${why}`),
  incompatible: (code: string, message: string) => make(code, 400, message),
  alreadyExists: (what: string) => make('ResourceAlreadyExists', 409, `${what} already exists.`),

  // `what` names the object as oss://bucket/key, never as a host path
  objectNotFound: (what: string) => make('ObjectNotFound', 404, `The stored object ${what} does not exist.`),
} as const;

/** Turns anything thrown into a ServiceError; unknown errors become InternalError, keeping the cause. */
export function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  const e = ERRORS.internal();
  (e as { cause?: unknown }).cause = err;
  return e;
}
