import type { Command } from 'commander';
import { type ApiClient, type ApiFlags, withApiOptions } from '../api-client.ts';
import { detailsFrom, watchTasks } from './watch-tasks.ts';

// What a task-creating command does with the answer: follow its batch (backup, restore,
// call --wait) or, with --no-wait, print it.

export interface WatchFlags extends ApiFlags {
  json?: boolean;
  wait: boolean;
}

export function withWatchOptions(cmd: Command): Command {
  return withApiOptions(cmd)
    .option('--json', 'print one JSON object (the answer, the batch and each task) when done, no progress')
    .option('--no-wait', 'print the answer and return at once, without following the tasks');
}

/** prints the answer (--no-wait) or follows its batch; a failed task makes the exit code 1 */
export async function followAnswer(
  client: ApiClient,
  response: Record<string, unknown>,
  flags: WatchFlags,
): Promise<void> {
  const taskId = typeof response.TaskId === 'string' ? response.TaskId : undefined;
  if (!flags.wait || !taskId) {
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    return;
  }
  if (!flags.json) process.stdout.write(`task ${taskId} (RequestId ${String(response.RequestId)})\n`);
  const ok = await watchTasks(client, taskId, { json: flags.json, response, details: detailsFrom(response) });
  if (!ok) process.exitCode = 1;
}
