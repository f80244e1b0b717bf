import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config.ts';

/** The options every subcommand takes (DESIGN contract): flags win over env, env over the file. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data folder (env DATA_DIR, default ./data)')
    .option('--config <file>', 'JSON config file (env CONFIG_FILE)')
    .option('--database-url <url>', 'postgres:// URL for metadata and tasks (env DATABASE_URL)');
}

export function configFrom(flags: Record<string, unknown>): Config {
  try {
    return loadConfig({ flags });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

/** Prints a message for a user and exits non-zero, without a stack trace. */
export function fail(message: string): never {
  process.stderr.write(`cloudphone-backup: ${message}\n`);
  process.exit(1);
}
