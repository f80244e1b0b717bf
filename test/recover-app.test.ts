import { copyFileSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cacheGid } from '../src/android/layout.ts';
import type { Sidecar } from '../src/backup/archive/manifest.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device } from '../src/devices/device.ts';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { type Call, CLIENT_KINDS, client } from './helpers/clients.ts';
import { craftArchive } from './helpers/craft-archive.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Node, restoreScratchIn, snapshot, withOwners } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// RecoverApp end to end: a backup of phone A restored onto phone B and onto A itself, compared
// tree by tree with what A held when it was backed up; and archives that must be refused
// without touching the target.

const APPS = ['com.example.notes', 'com.example.gallery'];
const ENDPOINT = 'oss-cn-shanghai-internal.aliyuncs.com';
const PARTS: Record<string, string> = {
  ce: 'data/user/0',
  de: 'data/user_de/0',
  external: 'data/media/0/Android/data',
  obb: 'data/media/0/Android/obb',
  media: 'data/media/0/Android/media',
};
const skipLib = (part: string) => (part === 'ce' ? (rel: string) => rel === 'lib' : undefined);

type Trees = Map<string, Map<string, Map<string, Node>>>;

let stack: Stack;
let call: Call;
const devices: Device[] = [];
const device = (i: number) => devices[i] as Device;

beforeAll(async () => {
  stack = await startStack({ phones: 2 });
  call = client('openapi-core V3', stack.url, stack.key);
  for (const p of stack.phones) devices.push(await connectAdb(p.address, { keyDir: join(stack.dataDir, 'adb') }));
}, 120_000);
afterAll(async () => {
  for (const d of devices) await d.close();
  await stack?.close();
});

function trees(phone: number): Trees {
  const root = stack.phones[phone]?.phone.root as string;
  const out: Trees = new Map();
  for (const pkg of APPS) {
    const parts = new Map<string, Map<string, Node>>();
    for (const [part, base] of Object.entries(PARTS)) {
      const dir = join(root, base, pkg);
      if (lstatSync(dir, { throwIfNoEntry: false })) parts.set(part, snapshot(dir, { skip: skipLib(part) }));
    }
    out.set(pkg, parts);
  }
  return out;
}

async function backup(phone: number, c: Call = call) {
  const res = await c('BackupApp', {
    AndroidInstanceIdList: [stack.ids[phone]],
    SourceAppList: APPS,
    BackupFilePath: 'oss://restores/src/',
    UploadEndpoint: ENDPOINT,
  });
  expect((await waitTask(c, String(res.TaskId), 120_000)).TaskStatus).toBe('Finished');
  return String((res.Data as Row[])[0]?.BackupFileId);
}

async function recover(fileId: string, phones: number[], c: Call = call) {
  const res = await c('RecoverApp', {
    BackupFileId: fileId,
    AndroidInstanceIdList: phones.map((i) => stack.ids[i]),
    UploadType: 'OSS',
  });
  expect(res).toMatchObject({ Count: phones.length, TaskId: expect.stringMatching(/^t-/) });
  const batch = await waitTask(c, String(res.TaskId), 120_000);
  const children = (await c('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
  return { batch, children };
}

/** The target's trees must equal the source's, with owners given to the target's new uid. */
async function expectRestored(source: Trees, phone: number, sourceUids: Map<string, number>) {
  const root = stack.phones[phone]?.phone.root as string;
  for (const pkg of APPS) {
    const info = await device(phone).packageInfo(pkg);
    if (!info) throw new Error(`${pkg} is not installed`);
    for (const [part, tree] of source.get(pkg) ?? []) {
      const dir = join(root, PARTS[part] as string, pkg);
      const from = sourceUids.get(pkg) ?? info.uid;
      // the app's own ids move to the target's uid (and cache gid); media_rw, ext_*_rw stay
      const remap = (id: number) => (id === from ? info.uid : id === cacheGid(from) ? cacheGid(info.uid) : id);
      const expected = withOwners(tree, (_rel, node) => ({ uid: remap(node.uid), gid: remap(node.gid) }));
      expect(snapshot(dir, { skip: skipLib(part) }), `${pkg} ${part}`).toEqual(expected);
    }
  }
}

async function packageFacts(phone: number) {
  const facts = new Map<string, { versionCode: number; permissions: string[]; uid: number }>();
  for (const pkg of APPS) {
    const info = await device(phone).packageInfo(pkg);
    if (info)
      facts.set(pkg, {
        versionCode: info.versionCode,
        permissions: info.runtimePermissions
          .filter((p) => p.granted)
          .map((p) => p.name)
          .sort(),
        uid: info.uid,
      });
  }
  return facts;
}

describe('RecoverApp restores exactly what was backed up', () => {
  let fileId: string;
  let source: Trees;
  let sourceFacts: Awaited<ReturnType<typeof packageFacts>>;
  const uids = () => new Map([...sourceFacts].map(([k, v]) => [k, v.uid]));

  beforeAll(async () => {
    fileId = await backup(0);
    source = trees(0);
    sourceFacts = await packageFacts(0);
  }, 120_000);

  it('onto another phone, where the apps get new uids, reading the archive once', async () => {
    const get = vi.spyOn(FsObjectStore.prototype, 'get');
    const { batch, children } = await recover(fileId, [1]);
    const archiveReads = get.mock.calls.filter(([, key]) => !key.endsWith('.json')).length;
    get.mockRestore();
    // one read of the archive verifies and stages it (a verify pass and an apply pass read it twice)
    expect(archiveReads).toBe(1);
    expect(Number(children[0]?.BytesTotal)).toBe(Number(children[0]?.BytesDone));
    expect(batch).toMatchObject({ TaskStatus: 'Finished', SuccessChildCount: 1 });
    expect(children[0]).toMatchObject({ TaskStatus: 'Finished', ErrorCode: '' });
    expect(Number(children[0]?.BytesDone)).toBeGreaterThan(0);
    await expectRestored(source, 1, uids());
    const facts = await packageFacts(1);
    for (const [pkg, f] of sourceFacts) {
      expect(facts.get(pkg)).toMatchObject({ versionCode: f.versionCode, permissions: f.permissions });
    }
    const [file] = (await call('DescribeBackupFiles', { BackupFileId: fileId })).Data as Row[];
    expect(file?.Status).toBe('AVAILABLE');
    const [target] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[1]] }))
      .InstanceModel as Row[];
    expect(target).toMatchObject({ AndroidInstanceStatus: 'RUNNING', Rate: 100 });
  }, 120_000);

  it('onto the same phone after the app changed', async () => {
    const ce = join(stack.phones[0]?.phone.root as string, PARTS.ce as string, 'com.example.notes');
    writeFileSync(join(ce, 'files', 'new-after-backup.txt'), 'should disappear');
    await device(0).remove(`/data/user/0/com.example.notes/databases`);
    const { children } = await recover(fileId, [0]);
    expect(children[0]?.TaskStatus).toBe('Finished');
    await expectRestored(source, 0, uids());
  }, 120_000);

  it('onto the same phone after the app was uninstalled', async () => {
    await device(0).uninstall('com.example.gallery');
    expect(await device(0).packageInfo('com.example.gallery')).toBeNull();
    const { children } = await recover(fileId, [0]);
    expect(children[0]?.TaskStatus).toBe('Finished');
    await expectRestored(source, 0, new Map());
    expect((await packageFacts(0)).get('com.example.gallery')?.permissions).toEqual(
      sourceFacts.get('com.example.gallery')?.permissions,
    );
  }, 120_000);

  it.each(CLIENT_KINDS)(
    'through %s',
    async (kind) => {
      const c = client(kind, stack.url, stack.key);
      const { children } = await recover(fileId, [1], c);
      expect(children[0]?.TaskStatus).toBe('Finished');
    },
    120_000,
  );
});

describe('RecoverApp refuses damaged or unsafe archives and leaves the target untouched', () => {
  let real: { bucket: string; key: string; sidecar: Sidecar; dir: string };
  beforeAll(async () => {
    const id = await backup(0);
    const file = await stack.service.db.backupFiles.get('default', id);
    if (!file) throw new Error('no file');
    const dir = join(stack.dataDir, 'objects', ENDPOINT, file.bucket);
    const sidecar = JSON.parse(readFileSync(join(dir, `${file.objectKey}.json`), 'utf8')) as Sidecar;
    real = { bucket: file.bucket, key: file.objectKey, sidecar, dir };
  }, 120_000);

  /**
   * Registers an AVAILABLE backup file whose object and sidecar the test wrote; the service's
   * record of its digest is the sidecar's unless `recorded` says otherwise.
   */
  async function register(
    name: string,
    object: Buffer | null,
    sidecar: Sidecar | null,
    recorded: { sha256: string; size: number } | undefined = sidecar ?? undefined,
  ) {
    if (object) writeFileSync(join(real.dir, name), object);
    if (sidecar) writeFileSync(join(real.dir, `${name}.json`), JSON.stringify(sidecar));
    const f = await stack.service.db.backupFiles.create({
      account: 'default',
      instanceId: stack.ids[0] as string,
      instanceName: 'phone 0',
      name,
      description: 'crafted',
      path: 'oss://restores/src/',
      endpoint: ENDPOINT,
      bucket: real.bucket,
      objectKey: name,
      apps: APPS,
      status: 'AVAILABLE',
    });
    if (recorded) {
      await stack.service.db.backupFiles.update('default', f.id, { sha256: recorded.sha256, size: recorded.size });
    }
    return f.id;
  }

  async function expectRefused(fileId: string, code: string, why: RegExp) {
    const data = () =>
      snapshot(join(stack.phones[1]?.phone.root as string, 'data'), { scratchIn: restoreScratchIn('/data', APPS) });
    const before = data();
    const { batch, children } = await recover(fileId, [1]);
    expect(batch.TaskStatus).toBe('Failed');
    expect(children[0]).toMatchObject({ TaskStatus: 'Failed', ErrorCode: code });
    expect(String(children[0]?.ErrorMsg)).toMatch(why);
    expect(data()).toEqual(before);
    const [target] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[1]] }))
      .InstanceModel as Row[];
    expect(target).toMatchObject({ AndroidInstanceStatus: 'RECOVER_FAILED', ErrorCode: code });
  }

  const original = () => readFileSync(join(real.dir, real.key));

  it('a flipped byte', async () => {
    const bytes = Buffer.from(original());
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = (bytes[mid] as number) ^ 0x01;
    await expectRefused(await register('flipped.tar.zst', bytes, real.sidecar), 'BackupFileCorrupted', /damaged/);
  });

  it('a truncated archive', async () => {
    const bytes = original().subarray(0, Math.floor(original().length * 0.7));
    await expectRefused(await register('truncated.tar.zst', bytes, real.sidecar), 'BackupFileCorrupted', /damaged/);
  });

  it('a missing sidecar', async () => {
    copyFileSync(join(real.dir, real.key), join(real.dir, 'nosidecar.tar.zst'));
    await expectRefused(await register('nosidecar.tar.zst', null, null), 'BackupFileCorrupted', /sidecar/);
  });

  const crafted = async (name: string, entries: Parameters<typeof craftArchive>[1]) => {
    const { object, sha256 } = craftArchive(real.sidecar.manifest, entries);
    return register(name, object, { ...real.sidecar, size: object.length, sha256 });
  };
  const ce = 'apps/com.example.notes/ce';

  it('a tampered archive with a re-signed sidecar (the store was compromised, the service was not)', async () => {
    const { object, sha256 } = craftArchive(real.sidecar.manifest, [
      { path: 'apps/com.example.notes/ce/', type: 'directory' },
    ]);
    const forged = { ...real.sidecar, size: object.length, sha256 };
    const id = await register('forged.tar.zst', object, forged, {
      sha256: real.sidecar.sha256,
      size: real.sidecar.size,
    });
    await expectRefused(id, 'BackupFileCorrupted', /does not match the digest the service recorded/);
  });

  it('an archive with a ../ entry', async () => {
    const id = await crafted('dotdot.tar.zst', [
      { path: `${ce}/`, type: 'directory' },
      { path: `${ce}/../../../../data/system/evil`, body: 'x' },
    ]);
    await expectRefused(id, 'UnsafeBackupEntry', /\.\./);
  });

  it('an archive with a symlink to /data/system', async () => {
    const id = await crafted('link.tar.zst', [
      { path: `${ce}/`, type: 'directory' },
      { path: `${ce}/sys`, type: 'symlink', link: '/data/system' },
      { path: `${ce}/sys/packages.json`, body: '{}' },
    ]);
    await expectRefused(id, 'UnsafeBackupEntry', /outside the app/);
  });

  it('an archive that writes through a symlink', async () => {
    const id = await crafted('through.tar.zst', [
      { path: `${ce}/`, type: 'directory' },
      { path: `${ce}/files`, type: 'directory' },
      { path: `${ce}/l`, type: 'symlink', link: 'files' },
      { path: `${ce}/l/x`, body: 'x' },
    ]);
    await expectRefused(id, 'UnsafeBackupEntry', /through a symlink/);
  });
});
