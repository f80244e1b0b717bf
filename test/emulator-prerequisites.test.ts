import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

// Without a working bubblewrap the emulated phone would listen and answer nothing: it refuses to
// start instead, in one line naming the package. bwrap is made unusable for this one process by
// binding /dev/null over it in a private mount namespace (unshare -m), so the host keeps its own.

const BIN = fileURLToPath(new URL('../bin/cloudphone-backup.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'emulator-prereq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('refuses to start without a working bwrap, in one line that names the package', async () => {
  const script = `mount --bind /dev/null /usr/bin/bwrap && exec "${process.execPath}" "${BIN}" emulator --root "${dir}/phone" --port 0`;
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile('unshare', ['-m', 'sh', '-c', script], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  expect(result.code).toBe(1);
  expect(result.stdout).not.toContain('listening');
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    /^cloudphone-backup: cannot start the emulator: \/usr\/bin\/bwrap cannot run .*apt-get install bubblewrap$/,
  );
});
