import { Command } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { registerBackup } from './commands/backup.ts';
import { registerCall } from './commands/call.ts';
import { registerEmulator } from './commands/emulator.ts';
import { registerInstances } from './commands/instances.ts';
import { registerKeys } from './commands/keys.ts';
import { registerServe, registerWorker } from './commands/serve.ts';
import { registerTasks } from './commands/tasks.ts';

/** the `cloudphone-backup` command tree: one subcommand per role */
export function buildProgram(): Command {
  const program = new Command('cloudphone-backup')
    .description('App backup and restore for Android cloud phones, wire-compatible with the eds-aic BackupApp API')
    .version(pkg.version, '-V, --version', 'print the version');
  registerServe(program);
  registerWorker(program);
  registerKeys(program);
  registerInstances(program);
  registerEmulator(program);
  registerCall(program);
  registerBackup(program);
  registerTasks(program);
  return program;
}
