import type { Command } from 'commander';
import { type CallFlags, runCall } from './call.ts';

/** `cloudphone-backup tasks cancel <TaskId…>`: CancelTasks through the API, like `call` does. */
export function registerTasks(program: Command): void {
  const tasks = program.command('tasks').description('work with tasks through the API');
  tasks
    .command('cancel')
    .description(
      'stop tasks (batch ids cancel every instance task of the batch): waiting ones fail at once, running ones are stopped cleanly (the app resumed, partial objects removed), each ends Failed with TaskCancelled',
    )
    .argument('<taskIds...>', 'task ids, t-…')
    .option('--endpoint <url>', 'API endpoint (env CLOUDPHONE_ENDPOINT, default http://127.0.0.1:8080)')
    .option('--signature <version>', 'v3 (ACS3-HMAC-SHA256) or v1 (HMAC-SHA1)', 'v3')
    .action(async (taskIds: string[], flags: Pick<CallFlags, 'endpoint' | 'signature'>) => {
      const params = Object.fromEntries(taskIds.map((id, i) => [`TaskIds.${i + 1}`, id]));
      await runCall('CancelTasks', params, { ...flags, method: 'POST' });
    });
}
