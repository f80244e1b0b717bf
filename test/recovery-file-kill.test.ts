import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopAll } from './helpers/cli-process.ts';
import { ENDPOINT, type FaultStack, LEASE_MS, startFaultStack, stopService } from './helpers/fault-stack.ts';
import { snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';
import { within } from './helpers/within.ts';

// A RecoveryFile whose process is SIGKILLed mid-swap (failpoint restore:path-swapped: the
// backup's copy in place, the target's own folder aside, its excluded entries carried over):
// the next run on the phone first puts the target back from the journal on the phone, then
// restores it again. The target ends as the backup has it, with its own excluded entries, and no
// staging, trash or journal is left.

const X = '/data/local/tmp/x';
let s: FaultStack;
const host = (p: string) => join(s.phones[0]?.phone.root as string, p);
const leftovers = () =>
  [...readdirSync(host('/data/local/tmp')), ...readdirSync(host('/data/media/0'))].filter((n) => n.startsWith('.cpb-'));

beforeAll(async () => {
  s = await startFaultStack({ backend: 'sqlite', phones: 1 });
}, 60_000);
afterAll(async () => {
  await s?.close();
  await stopAll();
});

it('undoes a file restore killed mid-swap, then restores again', async () => {
  mkdirSync(host(`${X}/a`), { recursive: true });
  writeFileSync(host(`${X}/a/one.txt`), 'backed up');
  chmodSync(host(X), 0o750);
  await s.serve();
  const res = await s.call('BackupFile', {
    AndroidInstanceIdList: [s.ids[0]],
    SourceFilePathList: [X],
    ExcludeSourceFilePathList: [`${X}/cache`],
    BackupFilePath: 'oss://kills/files/',
    UploadEndpoint: ENDPOINT,
  });
  const backup = await waitTask(s.call, String((res.Data as Row[])[0]?.TaskId), 60_000);
  expect(backup.TaskStatus).toBe('Finished');
  const saved = snapshot(host(X));
  // the phone changes after the backup: x gets other content and a cache the backup excluded
  writeFileSync(host(`${X}/a/one.txt`), 'changed since');
  writeFileSync(host(`${X}/later.txt`), 'added since');
  mkdirSync(host(`${X}/cache`));
  writeFileSync(host(`${X}/cache/c.bin`), 'the target keeps its cache');
  await stopService(s.service);

  const armed = await s.serve(['restore:path-swapped']);
  const recover = await s.call('RecoveryFile', {
    BackupFileId: (res.Data as Row[])[0]?.BackupFileId,
    AndroidInstanceIdList: [s.ids[0]],
  });
  const exit = await within(armed.exited, 30_000, () => `the service did not die:\n${armed.output()}`);
  expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
  // killed with the backup's copy in place and the target's own beside it
  expect(leftovers().some((n) => n.endsWith('-journal'))).toBe(true);
  expect(leftovers().some((n) => /-pold-0$/.test(n))).toBe(true);

  await s.serve();
  const children = (await s.call('DescribeTasks', { ParentTaskId: recover.TaskId, Level: 2 })).Data as Row[];
  const row = await waitTask(s.call, String(children[0]?.TaskId), 3 * LEASE_MS + 30_000);
  expect(row).toMatchObject({ TaskStatus: 'Finished' });
  expect(Number(row.Attempts)).toBe(2);
  const restored = snapshot(host(X), { skip: (rel) => rel === 'cache' || rel.startsWith('cache/') });
  // the folder's mtime changed when the cache was carried back in, and was set back
  expect(restored).toEqual(saved);
  expect(readdirSync(host(`${X}/cache`))).toEqual(['c.bin']);
  expect(leftovers()).toEqual([]);
}, 120_000);
