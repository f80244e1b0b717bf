import type { Command } from 'commander';
import { apiClient, listParams, withApiOptions } from '../api-client.ts';
import { watchTasks } from '../progress/watch-tasks.ts';
import { runCall } from './call.ts';

/** `cloudphone-backup tasks cancel|watch`: CancelTasks, or following tasks, through the API like `call`. */
export function registerTasks(program: Command): void {
  const tasks = program.command('tasks').description('work with tasks through the API');
  withApiOptions(tasks.command('cancel'))
    .description(
      'stop tasks (batch ids cancel every instance task of the batch): waiting ones fail at once, running ones are stopped cleanly (the app resumed, partial objects removed), each ends Failed with TaskCancelled',
    )
    .argument('<taskIds...>', 'task ids, t-…')
    .action(async (taskIds: string[], flags: { endpoint?: string; signature: string }) => {
      await runCall('CancelTasks', listParams('TaskIds', taskIds), { ...flags, method: 'POST' });
    });
  withApiOptions(tasks.command('watch'))
    .description(
      'follow a task until it ends: a live bar per instance task (plain lines when not on a terminal), then a summary; exit 1 if any failed',
    )
    .argument('<taskId>', 'a batch task id (all its instance tasks) or one instance task id, t-…')
    .option('--json', 'print one JSON object (the batch and each task) when done, no progress')
    .action(async (taskId: string, flags: { endpoint?: string; signature: string; json?: boolean }) => {
      if (!(await watchTasks(apiClient(flags), taskId, { json: flags.json }))) process.exitCode = 1;
    });
}
