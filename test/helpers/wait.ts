import type { Call } from './clients.ts';

export type Row = Record<string, unknown>;
const SETTLED = ['Finished', 'Failed', 'PartFinished'];

/** Polls DescribeTasks until the task settles; returns its row. */
export async function waitTask(call: Call, taskId: string, timeoutMs = 60_000): Promise<Row> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const body = await call('DescribeTasks', { TaskIds: [taskId] });
    const row = (body.Data as Row[])[0];
    // every failure must carry a catalogue code: an InternalError fails whichever test saw it
    if (row?.ErrorCode === 'InternalError')
      throw new Error(`task ${taskId} failed with InternalError: ${row.ErrorMsg}`);
    if (row && SETTLED.includes(String(row.TaskStatus))) return row;
    if (Date.now() > until) throw new Error(`task ${taskId} still ${row?.TaskStatus} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until `check` returns a value. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
