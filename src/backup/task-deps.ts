import type { Db } from '../db/database.ts';
import type { Instance } from '../db/instances-repo.ts';
import type { Device, DeviceConnector } from '../devices/device.ts';
import { ServiceError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** What the backup and restore task handlers need, wired once at start-up. */
export interface TaskDeps {
  db: Db;
  connect: DeviceConnector;
  storeFor: (endpoint: string) => ObjectStore;
  backup: { requireSuspension: boolean };
  /** an upload untouched this long belongs to a put that died (the reconciler removes it) */
  abandonedAfterMs: number;
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

/**
 * Connects to the instance's phone for `work` and always closes it. Device errors name the ADB
 * address; they are reported with the instance id as well, which is what an operator looks up.
 */
export async function withDevice<T>(
  deps: TaskDeps,
  instance: Instance,
  signal: AbortSignal,
  work: (device: Device) => Promise<T>,
): Promise<T> {
  try {
    const device = await deps.connect(instance.adbAddress, { signal });
    try {
      return await work(device);
    } finally {
      await device.close().catch(() => {});
    }
  } catch (err) {
    if (!(err instanceof ServiceError) || !err.message.includes(instance.adbAddress)) throw err;
    const named = err.message.replace(instance.adbAddress, `${instance.id} (${instance.adbAddress})`);
    throw new ServiceError(err.code, err.httpStatus, named, { cause: err });
  }
}
