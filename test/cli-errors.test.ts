import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

// What a newcomer hits first: `--version`, and one clear line (no stack trace) for a busy port or
// a database that cannot be reached.

const BIN = fileURLToPath(new URL('../bin/cloudphone-backup.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cli-errors-'));
let busy: Server;
let port: number;

beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  port = (busy.address() as { port: number }).port;
});
afterAll(() => {
  busy?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

it('prints its version', async () => {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
});

it('says in one line that the port is in use', async () => {
  const r = await cli(['serve', '--port', String(port), '--data-dir', join(dir, 'a')]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    `cloudphone-backup: 127.0.0.1:${port} is already in use; pick another port with --port or PORT\n`,
  );
});

it('says in one line that the database cannot be reached', async () => {
  const url = `postgres://postgres@127.0.0.1:${port + 0}/nothing`;
  busy.close(); // nothing listens there now
  const r = await cli(['serve', '--port', '0', '--data-dir', join(dir, 'b'), '--database-url', url]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^cloudphone-backup: cannot reach the database at 127\.0\.0\.1:\d+\/nothing \(.*ECONNREFUSED.*\)\n$/,
  );
});

it('refuses a misspelt parameter of a known action, naming the valid ones, before calling anything', async () => {
  const r = await cli(['call', 'DescribeTasks', '--TaskId', 't-1', '--endpoint', `http://127.0.0.1:${port}`]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^cloudphone-backup: --TaskId is not a parameter of DescribeTasks; it takes .*\bTaskIds\b.*\n$/,
  );
});

it('lists every action and its parameters in `call --help`', async () => {
  const r = await cli(['call', '--help']);
  expect(r.code).toBe(0);
  for (const line of ['  CancelTasks: TaskIds', '  DeleteBackupFile: BackupFileIdList'])
    expect(r.stdout).toContain(line);
  expect(r.stdout).toMatch(/^ {2}RecoverAndroidInstance: .*UploadType/m);
});
