import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.ts';
import { RateMeter } from '../src/cli/progress/task-snapshot.ts';
import { cliBundle } from './helpers/cli-process.ts';
import { type Stack, startStack } from './helpers/stack.ts';

// backup, restore, tasks watch and call --wait through the real binary against the running
// service: they follow the tasks to the end, print plain lines (stdout is a pipe here, not a
// terminal), a summary table, one JSON object with --json, and exit 1 when a task failed.

const exec = promisify(execFile);
let stack: Stack;
let main: string;

const cli = async (...args: string[]) => {
  const env = {
    ...process.env,
    ALIBABA_CLOUD_ACCESS_KEY_ID: stack.key.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: stack.key.accessKeySecret,
    CLOUDPHONE_ENDPOINT: stack.url,
  };
  try {
    const { stdout, stderr } = await exec(process.execPath, [main, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};
const TO = ['--to', 'oss://bucket/cli/', '--upload-endpoint', 'oss-cn-hangzhou.aliyuncs.com'];

beforeAll(async () => {
  [stack, main] = await Promise.all([startStack({ phones: 2 }), cliBundle()]);
}, 120_000);
afterAll(() => stack?.close());

describe('the task-following commands', () => {
  let fileOfPhone0 = '';
  let batchId = '';

  it('backup follows both instance tasks to the end and prints a summary, plain when not on a terminal', async () => {
    const r = await cli('backup', '--instances', stack.ids.join(','), '--apps', 'com.example.notes', ...TO);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/\x1b/); // no bars, no cursor movement
    expect(r.stdout).toMatch(/^acp-phone0 {2}t-\w+ {2}Finished {2}[\d.]+ \w?i?B \/ [\d.]+ \w?i?B {2}100%$/m);
    expect(r.stdout).toMatch(/^INSTANCE {4}TASK {17}STATUS {4}BYTES {5}TIME +DETAIL$/m);
    fileOfPhone0 = /^acp-phone0 +t-\w+ +Finished +.* (bf-\w+)$/m.exec(r.stdout)?.[1] ?? '';
    expect(fileOfPhone0).toMatch(/^bf-/);
    batchId = /^batch (t-\w+): Finished \(2 finished, 0 failed of 2\)$/m.exec(r.stdout)?.[1] ?? '';
    expect(batchId).toMatch(/^t-/);
  });

  it('restore picks RecoverApp for an app backup and follows it; --json is one JSON object', async () => {
    const r = await cli('restore', fileOfPhone0, '--instances', 'acp-phone1', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ Ok: true, Batch: { TaskType: 'RecoverApp', TaskStatus: 'Finished' } });
    expect(out.Tasks).toEqual([expect.objectContaining({ InstanceId: 'acp-phone1', TaskStatus: 'Finished' })]);
    expect(out.Tasks[0].BytesDone).toBeGreaterThan(0);
    expect(out.Batch.BytesDone).toBe(out.Tasks[0].BytesDone);
    expect(out.Response.TaskId).toBe(out.TaskId);
  });

  it('tasks watch of a settled batch prints its summary at once', async () => {
    const r = await cli('tasks', 'watch', batchId);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`batch ${batchId}: Finished (2 finished, 0 failed of 2)`);
  });

  it('exits 1 when an instance task failed, with its code and message in the summary', async () => {
    const r = await cli(
      'call',
      'BackupApp',
      '--AndroidInstanceIdList',
      'acp-phone0',
      '--SourceAppList',
      'com.example.none',
      '--BackupFilePath',
      'oss://bucket/cli/',
      '--UploadEndpoint',
      'e.example.com',
      '--wait',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^acp-phone0 +t-\w+ +Failed +0 B +\S+ +AppNotInstalled: /m);
    expect(r.stdout).toMatch(/^batch t-\w+: Failed \(0 finished, 1 failed of 1\)$/m);
  });

  it('an API error is one line on stderr', async () => {
    const r = await cli('restore', 'bf-00000000000000000', '--instances', 'acp-phone1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cloudphone-backup: InvalidBackupFileId\.NotFound: [^\n]+\n$/);
    const bad = await cli('backup', '--instances', 'acp-nope', '--apps', 'com.example.notes', ...TO);
    expect(bad.stderr).toMatch(/^cloudphone-backup: BackupApp: InvalidAndroidInstanceId\.NotFound: [^\n]+\n$/);
  });
});

describe('help', () => {
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  it('describes every command and every option', () => {
    for (const c of all(buildProgram())) {
      expect(c.description(), `command ${c.name()}`).not.toBe('');
      for (const o of c.options) expect(o.description, `${c.name()} ${o.flags}`).not.toBe('');
    }
  });
});

it('derives the rate from recent samples and the ETA from it', () => {
  const m = new RateMeter(5_000);
  m.add('t', 0, 0);
  expect(m.eta('t', 0, 100)).toBeNull();
  m.add('t', 1_000, 1_000);
  expect(m.rate('t')).toBe(1_000);
  expect(m.eta('t', 1_000, 5_000)).toBe(4);
  m.add('t', 10, 2_000); // a retry starts over
  expect(m.rate('t')).toBe(0);
});
