import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// The web console in a real headless Chromium against the whole service with emulated phones:
// sign in (and a wrong secret refused), back up two phones and watch both bars reach 100 %,
// restore one backup onto a third phone after the compatibility verdicts (one target refused),
// delete a backup; another account's instance, backup file and tasks never shown.
// UPDATE_SCREENSHOTS=1 writes the pages' screenshots to docs/console/ (README shows them).

const APPS = ['com.example.notes', 'com.example.gallery'];
const NOTES_FILES = 'data/user/0/com.example.notes/files';
const MARKER = 'console-marker.txt';
const BIG = 'big.bin';

let stack: Stack;
let browser: Browser;
let page: Page;
let call: Call;
let shots: string;
let otherKey: { accessKeyId: string; accessKeySecret: string };
const foreign: string[] = []; // the other account's ids, never to be shown
const ids = { backupBatch: '', restoreBatch: '', fileOf0: '', fileOf1: '' };

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const text = () => page.evaluate(() => document.body.textContent);

async function assertNoForeign() {
  const shown = await text();
  for (const id of foreign) expect(shown).not.toContain(id);
}

/** the ids in the notice an action leaves (`… started: task t-…`) */
async function startedTask(): Promise<string> {
  const notice = page.locator('.notice.ok');
  await notice.waitFor();
  const id = /task (t-[0-9a-z]+)/.exec((await notice.textContent()) ?? '')?.[1];
  if (!id) throw new Error(`no task id in ${await notice.textContent()}`);
  return id;
}

/** waits for every per-instance task of a batch to show Finished and a full bar; screenshots one mid-way */
async function watchBatch(batchId: string, count: number, midShot?: string) {
  const rows = page.locator(`tbody[data-batch-id="${batchId}"] tr.child`);
  const until = Date.now() + 120_000;
  let seenMidway = false;
  for (;;) {
    const labels = await rows.locator('.bar-label').allInnerTexts();
    const statuses = await rows.locator('.status').allInnerTexts();
    if (statuses.some((s) => s === 'Failed')) throw new Error(`a task failed: ${await text()}`);
    if (!seenMidway && midShot && labels.some((l) => l !== '0 %' && l !== '100 %')) {
      seenMidway = true;
      await shot(midShot);
    }
    if (labels.length === count && labels.every((l) => l === '100 %') && statuses.every((s) => s === 'Finished')) {
      return;
    }
    if (Date.now() > until) throw new Error(`batch ${batchId} not done: ${labels} ${statuses}`);
    await page.waitForTimeout(100);
  }
}

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'build:console'], { stdio: 'inherit' });
  stack = await startStack({ phones: 3 });
  shots = process.env.UPDATE_SCREENSHOTS ? join(import.meta.dirname, '../docs/console') : join(stack.dir, 'shots');
  mkdirSync(shots, { recursive: true });
  call = client('pop-core POST', stack.url, stack.key);
  const db = stack.service.db;
  const phone = (i: number) => stack.phones[i] as (typeof stack.phones)[number];
  // a target of another image: the restore verdict must refuse it
  const base = await db.instances.get('default', 'acp-phone1');
  if (!base) throw new Error('no acp-phone1');
  await db.instances.add({ ...base, id: 'acp-otherimage', name: 'other image', imageId: 'img-other' });
  // phone 0's notes app gets a file to find on the restore target, and both phones enough data to watch
  for (const i of [0, 1]) {
    const dir = join(phone(i).phone.root, NOTES_FILES);
    const { uid, gid } = statSync(dir);
    writeFileSync(join(dir, MARKER), `restored from phone ${i}\n`);
    execFileSync('sh', ['-c', `head -c ${32 * 1024 * 1024} /dev/urandom > '${join(dir, BIG)}'`]);
    for (const f of [MARKER, BIG]) chownSync(join(dir, f), uid, gid);
  }
  // another account with its own phone (phone 2's emulator), backup file and tasks
  otherKey = await db.accounts.createKey('other');
  await db.instances.add({ ...base, id: 'acp-otherphone', account: 'other', adbAddress: phone(2).address });
  const other = client('pop-core POST', stack.url, otherKey);
  const res = await other('BackupApp', {
    AndroidInstanceIdList: ['acp-otherphone'],
    SourceAppList: ['com.example.gallery'],
    BackupFilePath: 'oss://other/',
    UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
  });
  const item = (res.Data as Row[])[0] as Row;
  expect((await waitTask(other, String(res.TaskId), 120_000)).TaskStatus).toBe('Finished');
  foreign.push('acp-otherphone', String(res.TaskId), String(item.TaskId), String(item.BackupFileId));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the web console in Chromium', () => {
  it('refuses a wrong secret and signs in with the right one', async () => {
    await page.goto(`${stack.url}/console`);
    await page.getByLabel('AccessKeyId', { exact: true }).fill(stack.key.accessKeyId);
    await page.getByLabel('AccessKeySecret', { exact: true }).fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('InvalidCredentials').waitFor();
    expect(await page.context().cookies()).toEqual([]);
    await shot('sign-in');
    await page.getByLabel('AccessKeySecret', { exact: true }).fill(stack.key.accessKeySecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.locator('[data-account]').textContent()).toBe('default');
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'cpb_console', httpOnly: true, sameSite: 'Strict', path: '/console' });
  });

  it('lists the account’s instances only, and backs up two of them with live progress to 100 %', async () => {
    await page.locator('tr[data-instance-id="acp-phone2"]').waitFor();
    expect(await page.locator('tr[data-instance-id]').count()).toBe(4);
    await assertNoForeign();
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));
    for (const id of ['acp-phone0', 'acp-phone1']) await page.getByLabel(`select ${id}`).check();
    await page.getByRole('button', { name: 'Back up selected…' }).click();
    await page.getByLabel('Packages (comma or space separated)').fill(APPS.join(' '));
    await shot('backup-form');
    await page.getByRole('button', { name: 'Start backup' }).click();
    ids.backupBatch = await startedTask();
    await watchBatch(ids.backupBatch, 2, 'tasks-progress');
    await assertNoForeign();
    expect(await page.evaluate(() => (window as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);
    await page.getByRole('link', { name: 'Instances' }).click();
    await page.locator('tr[data-instance-id="acp-phone0"]').getByText('AVAILABLE').waitFor();
    await shot('instances');
  }, 180_000);

  it('shows the backup files with their filters, sizes and apps', async () => {
    const fileOf = async (i: number) =>
      String(
        ((await call('DescribeBackupFiles', { AndroidInstanceId: `acp-phone${i}` })).Data as Row[])[0]?.BackupFileId,
      );
    ids.fileOf0 = await fileOf(0);
    ids.fileOf1 = await fileOf(1);
    await page.getByRole('link', { name: 'Backup files' }).click();
    const row0 = page.locator(`tr[data-backup-file-id="${ids.fileOf0}"]`);
    await row0.waitFor();
    expect(await row0.textContent()).toMatch(/AVAILABLE[\s\S]*MiB[\s\S]*com\.example\.notes, com\.example\.gallery/);
    expect(await page.locator('tr[data-backup-file-id]').count()).toBe(2);
    await assertNoForeign();
    await shot('backups');
    await page.getByLabel('Instance id').fill('acp-phone1');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await row0.waitFor({ state: 'detached' });
    expect(await page.locator('tr[data-backup-file-id]').count()).toBe(1);
    await page.getByRole('button', { name: 'Clear' }).click();
    await row0.waitFor();
  });

  it('restores phone 0’s backup onto phone 2 after the compatibility verdicts', async () => {
    await page.locator(`tr[data-backup-file-id="${ids.fileOf0}"]`).getByRole('button', { name: 'Restore…' }).click();
    const target = (id: string) => page.locator(`li[data-target-id="${id}"]`);
    await target('acp-otherimage').getByRole('checkbox').check();
    await target('acp-otherimage').locator('.verdict.bad').getByText('ImageIdMismatch').waitFor();
    await target('acp-phone2').getByRole('checkbox').check();
    await target('acp-phone2').locator('.verdict.ok').waitFor();
    expect(await page.getByRole('button', { name: 'Start restore' }).isDisabled()).toBe(true);
    await shot('restore');
    await target('acp-otherimage').getByRole('checkbox').uncheck();
    await page.waitForFunction(() => {
      const b = [...document.querySelectorAll('button')].find((e) => e.textContent === 'Start restore');
      return b && !b.disabled;
    });
    await page.getByRole('button', { name: 'Start restore' }).click();
    ids.restoreBatch = await startedTask();
    await watchBatch(ids.restoreBatch, 1);
    await assertNoForeign();
    const restored = join(stack.phones[2]?.phone.root as string, NOTES_FILES, MARKER);
    expect(readFileSync(restored, 'utf8')).toBe('restored from phone 0\n');
  }, 180_000);

  it('shows a failed task with its error code and message', async () => {
    await page.getByRole('link', { name: 'Instances' }).click();
    await page.getByLabel('select acp-phone2').check();
    await page.getByRole('button', { name: 'Back up selected…' }).click();
    await page.getByLabel('Packages (comma or space separated)').fill('com.example.missing');
    await page.getByRole('button', { name: 'Start backup' }).click();
    const batch = page.locator(`tbody[data-batch-id="${await startedTask()}"]`);
    const error = batch.locator('[data-error-code="AppNotInstalled"]');
    await error.waitFor({ timeout: 60_000 });
    expect(await error.textContent()).toMatch(/^AppNotInstalled: .*com\.example\.missing/);
    await assertNoForeign();
    await shot('tasks');
  });

  it('deletes a backup file', async () => {
    await page.getByRole('link', { name: 'Backup files' }).click();
    const row1 = page.locator(`tr[data-backup-file-id="${ids.fileOf1}"]`);
    await row1.getByRole('button', { name: 'Delete' }).click();
    await row1.getByRole('button', { name: 'Confirm delete' }).click();
    await row1.waitFor({ state: 'detached' });
    expect((await call('DescribeBackupFiles', { BackupFileId: ids.fileOf1 })).TotalCount).toBe(0);
    await assertNoForeign();
  });

  it('shows the other account its own backup file and task only', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${stack.url}/console#/backups`);
      await other.getByLabel('AccessKeyId', { exact: true }).fill(otherKey.accessKeyId);
      await other.getByLabel('AccessKeySecret', { exact: true }).fill(otherKey.accessKeySecret);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.locator(`tr[data-backup-file-id="${foreign[3]}"]`).waitFor();
      expect(await other.locator('tr[data-backup-file-id]').count()).toBe(1);
      await other.getByRole('link', { name: 'Tasks' }).click();
      await other.locator(`tbody[data-batch-id="${foreign[1]}"]`).waitFor();
      expect(await other.locator('tbody[data-batch-id]').count()).toBe(1);
      const shown = await other.evaluate(() => document.body.textContent ?? '');
      for (const id of [ids.fileOf0, ids.backupBatch, ids.restoreBatch, 'acp-phone0']) expect(shown).not.toContain(id);
    } finally {
      await other.close();
    }
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const res = await page.request.get(`${stack.url}/console/api/session`);
    expect(res.status()).toBe(401);
  });
});
