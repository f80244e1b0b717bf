import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// BackupApp end to end through each real Alibaba client: two emulated phones, the archive opened
// with the system tar and compared, file by file, with the phone's own folders.

const APPS = ['com.example.notes', 'com.example.gallery'];
const ENDPOINT = 'oss-cn-hangzhou-internal.aliyuncs.com';
const PARTS: Record<string, string> = {
  ce: 'data/user/0',
  de: 'data/user_de/0',
  external: 'data/media/0/Android/data',
  obb: 'data/media/0/Android/obb',
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ phones: 2 });
}, 120_000);
afterAll(() => stack?.close());

describe.each(CLIENT_KINDS)('BackupApp through %s', (kind) => {
  it('backs up both phones and the archives hold every file as on the phone', async () => {
    const call = client(kind, stack.url, stack.key);
    const res = await call('BackupApp', {
      AndroidInstanceIdList: stack.ids,
      SourceAppList: APPS,
      BackupFilePath: `oss://backups-${kind.replace(/\W+/g, '-').toLowerCase()}/daily/`,
      UploadEndpoint: ENDPOINT,
      BackupFileName: 'nightly',
      Description: 'e2e',
    });
    expect(res).toMatchObject({ RequestId: expect.any(String), TaskId: expect.stringMatching(/^t-/), Count: 2 });
    expect(res).not.toHaveProperty('Code');
    const data = res.Data as Row[];
    expect(data.map((d) => d.AndroidInstanceId)).toEqual(stack.ids);
    const batch = await waitTask(call, String(res.TaskId), 120_000);
    expect(batch).toMatchObject({ TaskStatus: 'Finished', Level: 1, TotalChildCount: 2, SuccessChildCount: 2 });
    const children = (await call('DescribeTasks', { ParentTaskId: res.TaskId, Level: 2 })).Data as Row[];
    expect(children.map((c) => c.TaskStatus)).toEqual(['Finished', 'Finished']);
    expect(children.every((c) => Number(c.BytesDone) > 10_000_000 && c.BytesDone === c.BytesTotal)).toBe(true);

    for (const [i, item] of data.entries()) {
      const files = await call('DescribeBackupFiles', { BackupFileId: item.BackupFileId });
      expect(files).toMatchObject({ TotalCount: 1, MaxResults: '10' });
      const file = (files.Data as Row[])[0] as Row;
      expect(file).toMatchObject({ Status: 'AVAILABLE', AndroidInstanceId: stack.ids[i], SourceAppInfoList: APPS });
      expect(String(file.GmtCreated)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      const url = new URL(String(file.BackupFilePath).replace('oss://', 'http://'));
      const object = join(stack.dataDir, 'objects', ENDPOINT, url.hostname, url.pathname);
      expect(existsSync(`${object}.json`)).toBe(true);
      const out = join(stack.dir, `x-${kind.replace(/\W+/g, '')}-${i}`);
      mkdirSync(out);
      const tar = spawnSync('tar', ['--zstd', '-xpf', object, '-C', out, '--numeric-owner'], { encoding: 'utf8' });
      expect(tar.status, tar.stderr).toBe(0);
      const sums = spawnSync('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
      expect(sums.status, sums.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(out, 'cloudphone-backup.json'), 'utf8'));
      const certs = readFileSync(join(import.meta.dirname, '..', 'fixtures/apks/notes.apk.certs.txt'), 'utf8');
      const digest = /SHA-256 digest: ([0-9a-f]{64})/.exec(certs)?.[1];
      expect(manifest.apps.find((a: { package: string }) => a.package === 'com.example.notes').signerDigest).toBe(
        digest,
      );
      const phoneRoot = stack.phones[i]?.phone.root as string;
      for (const pkg of APPS) {
        for (const [part, base] of Object.entries(PARTS)) {
          const source = join(phoneRoot, base, pkg);
          if (!existsSync(source)) continue;
          const skip = part === 'ce' ? (rel: string) => rel === 'lib' : undefined;
          expect(snapshot(join(out, 'apps', pkg, part)), `${pkg} ${part}`).toEqual(snapshot(source, { skip }));
        }
      }
    }
  }, 180_000);
});
