import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { ERRORS } from '../../errors.ts';

const UNSETTLED = ['Waiting', 'Processing'];

/**
 * Refuses the call when one of `instanceIds` already has `max` unsettled (Waiting or Processing)
 * tasks in `account` (config server.maxPendingTasksPerInstance). A phone runs one task at a time,
 * so more than a handful queued is a runaway client, not a plan: without a cap a fuzz queued
 * 12,911 tasks on one phone. BackupApp and RecoverApp check it before anything is written.
 * A check before the insert, not in its transaction: calls racing each other can overshoot the cap
 * by at most the number of calls in flight for one phone.
 */
export async function assertTaskRoom(
  kysely: Kysely<Database>,
  account: string,
  instanceIds: readonly string[],
  max: number,
): Promise<void> {
  if (instanceIds.length === 0) return;
  const rows = await kysely
    .selectFrom('tasks')
    .select(['instanceId', (eb) => eb.fn.countAll().as('n')])
    .where('account', '=', account)
    .where('level', '=', 2)
    .where('status', 'in', UNSETTLED)
    .where('instanceId', 'in', [...new Set(instanceIds)])
    .groupBy('instanceId')
    .execute();
  const counts = new Map(rows.map((r) => [r.instanceId, Number(r.n)]));
  // reported in the caller's order, so the message names the first phone of the list that is full
  for (const id of instanceIds) {
    const n = counts.get(id) ?? 0;
    if (n >= max) throw ERRORS.tooManyPendingTasks(id, n, max);
  }
}
