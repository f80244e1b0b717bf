import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { TaskStatus } from './tasks-repo.ts';

export interface ChildCounts {
  total: number;
  finished: number;
  failed: number;
  processing: number;
  waiting: number;
}

/** A batch is what its children are: all Finished → Finished, all Failed → Failed, all done
 * with both outcomes → PartFinished; otherwise Processing once any child started, else Waiting. */
export function deriveBatchStatus(c: ChildCounts): TaskStatus {
  if (c.total > 0 && c.finished === c.total) return 'Finished';
  if (c.total > 0 && c.failed === c.total) return 'Failed';
  if (c.total > 0 && c.finished + c.failed === c.total) return 'PartFinished';
  return c.waiting === c.total ? 'Waiting' : 'Processing';
}

/**
 * Recomputes a batch row from its children. Call inside the transaction that changed a child.
 * The first statement writes the batch row, which on PostgreSQL locks it: concurrent settlers
 * of sibling tasks queue here, and each then counts what the others committed.
 */
export async function refreshBatch(tx: Kysely<Database>, parentId: string, now: string): Promise<void> {
  await tx.updateTable('tasks').set({ modified: now }).where('id', '=', parentId).execute();
  const rows = await tx
    .selectFrom('tasks')
    .select(['status', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('startTime').as('firstStart')])
    .where('parentId', '=', parentId)
    .groupBy('status')
    .execute();
  const c: ChildCounts = { total: 0, finished: 0, failed: 0, processing: 0, waiting: 0 };
  let startTime: string | null = null;
  for (const r of rows) {
    const n = Number(r.n);
    c.total += n;
    if (r.status === 'Finished') c.finished += n;
    else if (r.status === 'Failed') c.failed += n;
    else if (r.status === 'Processing') c.processing += n;
    else c.waiting += n;
    if (r.firstStart && (!startTime || r.firstStart < startTime)) startTime = r.firstStart;
  }
  const status = deriveBatchStatus(c);
  const done = status === 'Finished' || status === 'Failed' || status === 'PartFinished';
  await tx
    .updateTable('tasks')
    .set({
      status,
      childTotal: c.total,
      childSuccess: c.finished,
      childFailed: c.failed,
      childRunning: c.processing + c.waiting,
      startTime,
      finishTime: done ? now : null,
    })
    .where('id', '=', parentId)
    .execute();
}
