import type { Db } from '../db/database.ts';
import type { Instance } from '../db/instances-repo.ts';
import type { Device, DeviceConnector } from '../devices/device.ts';
import { ServiceError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { InstanceFacts } from './archive/manifest.ts';
import { undoInterruptedFileRestores } from './files/interrupted-paths.ts';
import { instanceFacts } from './instance-facts.ts';
import { undoInterruptedRestores } from './restore/interrupted.ts';
import { liftLeftovers } from './suspensions.ts';

/** What the backup and restore task handlers need, wired once at start-up. */
export interface TaskDeps {
  db: Db;
  connect: DeviceConnector;
  storeFor: (endpoint: string) => ObjectStore;
  backup: { requireSuspension: boolean };
  /** the phone folders BackupFile and RecoveryFile may read and write (config files.allowedRoots) */
  files?: { allowedRoots: readonly string[] };
  /** an upload untouched this long belongs to a put that died (the reconciler removes it) */
  abandonedAfterMs: number;
}

/**
 * Connects to the instance's phone for task `taskId`'s `work` and always closes it. First it
 * lifts what an earlier task that died on this phone left suspended (suspensions.ts) and undoes
 * what a restore killed mid-way left (restore/interrupted.ts), then records what the phone
 * reports about itself on the instance (instances-repo.ts recordFacts). Device errors name the
 * ADB address; they are reported with the instance id as well, which is what an operator looks up.
 */
export async function withDevice<T>(
  deps: TaskDeps,
  instance: Instance,
  taskId: string,
  signal: AbortSignal,
  work: (device: Device, facts: InstanceFacts) => Promise<T>,
): Promise<T> {
  try {
    const device = await deps.connect(instance.adbAddress, { signal });
    try {
      await liftLeftovers(deps, instance, device, taskId);
      await undoInterruptedRestores(device);
      await undoInterruptedFileRestores(device);
      // what the phone reports now (build, CPUs, memory, display, address), for DescribeAndroidInstances
      const props = await device.properties();
      await deps.db.instances.recordFacts(instance.id, props);
      return await work(device, instanceFacts(instance, props));
    } finally {
      await device.close().catch(() => {});
    }
  } catch (err) {
    if (!(err instanceof ServiceError) || !err.message.includes(instance.adbAddress)) throw err;
    const named = err.message.replace(instance.adbAddress, `${instance.id} (${instance.adbAddress})`);
    const renamed = new ServiceError(err.code, err.httpStatus, named, { cause: err });
    // still the same fault: a phone that dropped or refused the connection is retried (retry-policy.ts)
    renamed.transient = err.transient;
    throw renamed;
  }
}
