import type { Db } from '../db/database.ts';
import type { DeviceConnector } from '../devices/device.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** What the backup and restore task handlers need, wired once at start-up. */
export interface TaskDeps {
  db: Db;
  connect: DeviceConnector;
  storeFor: (endpoint: string) => ObjectStore;
}

/** The param of a BackupApp instance task, as stored in the task row. */
export interface BackupTaskParam {
  backupFileId: string;
  packages: string[];
}

/** The param of a RecoverApp instance task. */
export interface RecoverTaskParam {
  backupFileId: string;
}
