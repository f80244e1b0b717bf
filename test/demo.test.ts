import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// `npm run demo` as a newcomer runs it: it must back up two emulated phones, restore one onto the
// other, verify the restored data, clean up after itself and take under a minute.

const ROOT = join(import.meta.dirname, '..');

it('runs the demo end to end in under a minute and leaves nothing behind', async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
    cwd: ROOT,
    timeout: 90_000,
  });
  expect(stderr).toBe('');
  expect(stdout).toMatch(/^6\. verified: 2 apps on acp-demo-b match acp-demo-a's, \d+ entries .* the note restored/m);
  expect(stdout).toMatch(/^batch t-\w+: Finished \(2 finished, 0 failed of 2\)$/m);
  const dir = /^cloudphone-backup demo, in (\S+) /m.exec(stdout)?.[1] ?? '';
  expect(dir).not.toBe('');
  expect(existsSync(dir)).toBe(false);
  const seconds = Number(/^demo finished in ([\d.]+) s/m.exec(stdout)?.[1]);
  expect(seconds).toBeLessThan(60);
}, 120_000);
