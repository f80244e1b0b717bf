import type { ApiClient } from '../api-client.ts';
import { fail } from '../common.ts';
import { createView, viewModeFor } from './progress-view.ts';
import { summaryTable } from './summary-table.ts';
import { isSettled, type TaskSnapshot } from './task-snapshot.ts';

// Follows a task through DescribeTasks until it settles: a batch (Level 1) with each of its
// instance tasks, or one instance task. Shows the progress, then the summary (or, with --json, one
// JSON object), and says whether everything finished.

export interface WatchOptions {
  json?: boolean;
  /** the answer of the call that created the task, kept in the --json output */
  response?: Record<string, unknown>;
  /** per task id, what the summary shows for it when it did not fail */
  details?: ReadonlyMap<string, string>;
  intervalMs?: number;
  /** plain output: how often a running task's progress line repeats (default 5 s) */
  plainEveryMs?: number;
  out?: NodeJS.WriteStream;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function describeAll(client: ApiClient, params: Record<string, string>): Promise<TaskSnapshot[]> {
  const all: TaskSnapshot[] = [];
  let next = '';
  do {
    const page = { ...params, MaxResults: '100', ...(next ? { NextToken: next } : {}) };
    const body = await client.call('DescribeTasks', page);
    all.push(...((body.Data as TaskSnapshot[] | undefined) ?? []));
    next = String(body.NextToken ?? '');
  } while (next);
  return all;
}

const byInstance = (a: TaskSnapshot, b: TaskSnapshot) =>
  a.InstanceId.localeCompare(b.InstanceId) || a.TaskId.localeCompare(b.TaskId);

/** true when every instance task (and the batch) finished */
export async function watchTasks(client: ApiClient, taskId: string, opts: WatchOptions = {}): Promise<boolean> {
  const out = opts.out ?? process.stdout;
  const mode = viewModeFor(opts.json, out);
  const [first] = await describeAll(client, { 'TaskIds.1': taskId });
  if (!first) fail(`InvalidTaskId.NotFound: no task ${taskId} in this account`);
  const isBatch = first.Level === 1;
  const fetch = async () => ({
    batch: isBatch ? ((await describeAll(client, { 'TaskIds.1': taskId }))[0] ?? first) : null,
    tasks: (isBatch
      ? await describeAll(client, { ParentTaskId: taskId })
      : await describeAll(client, { 'TaskIds.1': taskId })
    ).sort(byInstance),
  });
  const view = createView({ mode, out, plainEveryMs: opts.plainEveryMs });
  const interrupted = () => {
    view.stop();
    process.stderr.write(`\nstopped watching; the tasks go on (cloudphone-backup tasks watch ${taskId})\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let state = await fetch();
  try {
    for (;;) {
      view.update(state.tasks);
      if (state.tasks.every(isSettled) && (!state.batch || isSettled(state.batch))) break;
      await sleep(opts.intervalMs ?? 500);
      state = await fetch();
    }
  } finally {
    view.stop();
    process.removeListener('SIGINT', interrupted);
  }
  const ok =
    state.tasks.every((t) => t.TaskStatus === 'Finished') && (!state.batch || state.batch.TaskStatus === 'Finished');
  if (mode === 'json') {
    const summary = { ...(opts.response ? { Response: opts.response } : {}), TaskId: taskId, Ok: ok };
    out.write(`${JSON.stringify({ ...summary, Batch: state.batch, Tasks: state.tasks }, null, 2)}\n`);
  } else {
    out.write(`\n${summaryTable({ batch: state.batch, tasks: state.tasks, details: opts.details ?? new Map() })}`);
  }
  return ok;
}

/** the per-task details a task-creating answer names (BackupApp's BackupFileId per instance) */
export function detailsFrom(response: Record<string, unknown>): Map<string, string> {
  const details = new Map<string, string>();
  for (const item of (response.Data as Array<Record<string, unknown>> | undefined) ?? []) {
    if (typeof item.TaskId === 'string' && typeof item.BackupFileId === 'string') {
      details.set(item.TaskId, item.BackupFileId);
    }
  }
  return details;
}
