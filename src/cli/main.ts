import { Command } from 'commander';

// Entry point of the `cloudphone-backup` binary: one subcommand per role.
const program = new Command('cloudphone-backup').description(
  'App backup and restore for Android cloud phones, wire-compatible with the eds-aic BackupApp API',
);

await program.parseAsync(process.argv);
