import type { Instance } from '../db/instances-repo.ts';
import type { Device } from '../devices/device.ts';
import type { TaskDeps } from './task-deps.ts';

// The suspensions a backup makes are recorded (src/db/suspensions-repo.ts) before `pm suspend`
// and forgotten after `pm unsuspend`, so none outlives its task: the task lifts its own when it
// ends (on a fresh connection if its own was cut, e.g. by a cancel or a stall); the next task on
// the phone lifts what a killed process left before it reads any package; and the reconciler
// lifts what is left on phones no task is about to use. Only a recorded suspension is lifted: an
// app someone else suspended is never resumed by us.

/** what backupApps needs to keep the record; bound to one task on one instance */
export interface SuspensionLedger {
  /** call before suspending */
  suspending(pkg: string): Promise<void>;
  /** call after resuming (or when pm refused the suspension) */
  resumed(pkg: string): Promise<void>;
}

export function suspensionLedger(deps: TaskDeps, instanceId: string, taskId: string): SuspensionLedger {
  const { suspensions } = deps.db;
  return {
    suspending: (pkg) => suspensions.record(instanceId, pkg, taskId),
    resumed: (pkg) => suspensions.forget(instanceId, pkg, taskId),
  };
}

/**
 * Lifts the suspensions recorded on `instance` by tasks other than `taskId` (the caller holds
 * the phone: only one task runs on a phone at a time). Returns the packages it resumed.
 */
export async function liftLeftovers(deps: TaskDeps, instance: Instance, device: Device, taskId?: string) {
  const lifted: string[] = [];
  for (const s of await deps.db.suspensions.list(instance.id)) {
    if (s.taskId === taskId) continue;
    await device.unsuspend(s.package);
    await deps.db.suspensions.forget(instance.id, s.package, s.taskId);
    lifted.push(s.package);
  }
  return lifted;
}

/**
 * After a task's run: lifts what it suspended and could not resume itself, on a new connection
 * (the task's own may have been cut). What still fails stays recorded for the next task or the
 * reconciler. Returns the packages it resumed.
 */
export async function liftOwn(deps: TaskDeps, instance: Instance, taskId: string): Promise<string[]> {
  const own = (await deps.db.suspensions.list(instance.id)).filter((s) => s.taskId === taskId);
  if (!own.length) return [];
  const device = await deps.connect(instance.adbAddress);
  try {
    for (const s of own) {
      await device.unsuspend(s.package);
      await deps.db.suspensions.forget(instance.id, s.package, taskId);
    }
  } finally {
    await device.close().catch(() => {});
  }
  return own.map((s) => s.package);
}
