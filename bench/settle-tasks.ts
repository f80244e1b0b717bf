import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';

// Settles the seeded tasks as their runs would have (bench/seed-tasks.ts): the columns
// TaskStore.settle and refreshBatch write (status, result or error, times, attempts, child
// counts, lease cleared), but a few statements for all rows, because settling 80,000 tasks one
// transaction each would take minutes. A batch's counts and status are refreshBatch's, in SQL.

export async function settleTasks(
  db: Db,
  finished: string[],
  failed: string[],
  waiting: { id: string; instanceId: string }[],
): Promise<void> {
  const k = db.kysely;
  const each = async (ids: string[], fn: (chunk: string[]) => Promise<unknown>) => {
    for (let i = 0; i < ids.length; i += 500) await fn(ids.slice(i, i + 500));
  };
  const ran = { startTime: sql<string>`created`, finishTime: sql<string>`created`, attempts: 1 };
  await each(finished, (ids) =>
    k
      .updateTable('tasks')
      .set({
        ...ran,
        status: 'Finished',
        bytesDone: 48_213_504,
        bytesTotal: 48_213_504,
        // the shape backup-app-task.ts's result() leaves (its manifest stripped)
        result: sql<string>`'{"objectKey":"apps/backup_' || instance_id || '_' || id || '.tar.zst","size":21734912,"sha256":"9f2c4e0b8d1a7c3e5f6a2b9d0c8e7f1a3b5d7c9e2f4a6b8d0c1e3f5a7b9d2c4e","sourceBytes":48213504,"warnings":[]}'`,
      })
      .where('id', 'in', ids)
      .execute(),
  );
  await each(failed, (ids) =>
    k
      .updateTable('tasks')
      .set({
        ...ran,
        status: 'Failed',
        bytesDone: 1_048_576,
        bytesTotal: 48_213_504,
        errorCode: 'InstanceUnreachable',
        errorMsg: 'The instance did not answer over ADB: connect ECONNREFUSED',
      })
      .where('id', 'in', ids)
      .execute(),
  );
  // one running task per phone (the partial unique index allows no more), part-way through
  const phones = new Set<string>();
  const running = waiting.filter((t) => !phones.has(t.instanceId) && phones.add(t.instanceId)).map((t) => t.id);
  await each(running, (ids) =>
    k
      .updateTable('tasks')
      .set({ status: 'Processing', startTime: sql<string>`created`, attempts: 1, bytesDone: 9_437_184 })
      .set({ bytesTotal: 48_213_504, leaseOwner: 'bench-worker', leaseExpires: '2999-01-01T00:00:00.000Z' })
      .where('id', 'in', ids)
      .execute(),
  );
  // what refreshBatch computes for each batch from its children, for all batches at once
  // counted over the parent_id index: with a status condition here SQLite (no statistics) picks
  // the status index instead and reads every Finished task for every batch
  const count = (status: string) =>
    sql<number>`(select coalesce(sum(case when c.status = ${status} then 1 else 0 end), 0) from tasks c where c.parent_id = tasks.id)`;
  await k
    .updateTable('tasks')
    .set({ childSuccess: count('Finished'), childFailed: count('Failed') })
    .where('level', '=', 1)
    .execute();
  await k
    .updateTable('tasks')
    .set({
      childRunning: sql<number>`child_total - child_success - child_failed`,
      status: sql<string>`case when child_success = child_total then 'Finished' when child_failed = child_total
        then 'Failed' when child_success + child_failed = child_total then 'PartFinished'
        when exists (select 1 from tasks c where c.parent_id = tasks.id and c.status <> 'Waiting') then 'Processing'
        else 'Waiting' end`,
    })
    .where('level', '=', 1)
    .execute();
  await k
    .updateTable('tasks')
    .set({ startTime: sql<string>`created`, finishTime: sql<string>`created` })
    .where('level', '=', 1)
    .where('status', 'in', ['Finished', 'Failed', 'PartFinished'])
    .execute();
}
