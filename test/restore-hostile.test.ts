import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest, Sidecar } from '../src/backup/archive/manifest.ts';
import { type Call, client } from './helpers/clients.ts';
import { type CraftEntry, craftArchive, craftArchiveStream } from './helpers/craft-archive.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Node, restoreScratchIn, snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// Hostile archives through RecoverApp onto an emulated phone, as from a compromised store whose
// attacker could also make the service's record of the digest match (the one thing a re-signed
// sidecar alone does not get past: recover-app.test.ts). So each archive here reaches the deep
// checks (entry rules, link chains, the reader's bounds, zstd, SHA256SUMS), and each must be
// refused with its catalogue code while the phone stays exactly as it was: the app's folders and
// every path outside them (the whole phone folder, listed with types, modes, owners, mtimes and
// contents), and in particular the paths the attack aims at. recover-app.test.ts covers `../`, a
// link to /data/system written through and a write through a link inside the app end to end;
// archive-hostile.test.ts has these and more against the reader alone.

const PKG = 'com.example.notes';
const APPS = [PKG, 'com.example.gallery'];
const ENDPOINT = 'oss-cn-shanghai-internal.aliyuncs.com';
const PARTS = ['ce', 'de', 'external'] as const;
const ce = `apps/${PKG}/ce`;
const de = `apps/${PKG}/de`;
const external = `apps/${PKG}/external`;
/** the app's folders on the phone, as the parts above restore them */
const APP_FOLDERS = [`/data/user/0/${PKG}`, `/data/user_de/0/${PKG}`, `/data/media/0/Android/data/${PKG}`];

let stack: Stack;
let call: Call;
let real: { bucket: string; key: string; sidecar: Sidecar; dir: string; tar: Buffer };
let manifest: Manifest;

const phoneRoot = () => stack.phones[0]?.phone.root as string;
const host = (phonePath: string) => stack.phones[0]?.phone.hostOf(phonePath) as string;
const zstd = (args: string[], input: Buffer) => spawnSync('zstd', args, { input, maxBuffer: 1 << 30 }).stdout;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  stack = await startStack({ phones: 1 });
  call = client('openapi-core V3', stack.url, stack.key);
  const res = await call('BackupApp', {
    AndroidInstanceIdList: [stack.ids[0]],
    SourceAppList: APPS,
    BackupFilePath: 'oss://hostile/src/',
    UploadEndpoint: ENDPOINT,
  });
  expect((await waitTask(call, String(res.TaskId))).TaskStatus).toBe('Finished');
  const file = await stack.service.db.backupFiles.get('default', String((res.Data as Row[])[0]?.BackupFileId));
  if (!file) throw new Error('the backup made no file');
  const dir = join(stack.dataDir, 'objects', ENDPOINT, file.bucket);
  const sidecar = JSON.parse(readFileSync(join(dir, `${file.objectKey}.json`), 'utf8')) as Sidecar;
  const tar = zstd(['-q', '-d', '-c'], readFileSync(join(dir, file.objectKey)));
  real = { bucket: file.bucket, key: file.objectKey, sidecar, dir, tar };
  // the real instance facts, so compatibility passes; one app whose parts span three folders
  const notes = sidecar.manifest.apps.find((a) => a.package === PKG);
  if (!notes) throw new Error(`${PKG} is not in the backup`);
  manifest = { ...sidecar.manifest, apps: [{ ...notes, parts: [...PARTS] }] };
}, 120_000);
afterAll(() => stack?.close());

/**
 * Stores `object` and a sidecar that vouches for it, and registers it as an AVAILABLE backup file
 * whose recorded digest matches too: a compromised store and a compromised record together.
 */
async function register(name: string, object: Buffer, sidecarManifest: Manifest = real.sidecar.manifest) {
  const sidecar: Sidecar = { manifest: sidecarManifest, size: object.length, sha256: sha256(object), dataBytes: 0 };
  writeFileSync(join(real.dir, name), object);
  writeFileSync(join(real.dir, `${name}.json`), JSON.stringify(sidecar));
  const f = await stack.service.db.backupFiles.create({
    account: 'default',
    instanceId: stack.ids[0] as string,
    instanceName: 'phone 0',
    name,
    description: 'hostile',
    path: 'oss://hostile/src/',
    endpoint: ENDPOINT,
    bucket: real.bucket,
    objectKey: name,
    apps: APPS,
    status: 'AVAILABLE',
  });
  await stack.service.db.backupFiles.update('default', f.id, { sha256: sidecar.sha256, size: sidecar.size });
  return f.id;
}

/** The APK and each part's folder, then `entries` inside their part (parts in manifest order). */
function withFolders(entries: CraftEntry[]): CraftEntry[] {
  const inPart = (p: string) => entries.filter((e) => e.path.startsWith(`apps/${PKG}/${p}/`));
  const elsewhere = entries.filter((e) => !PARTS.some((p) => e.path.startsWith(`apps/${PKG}/${p}/`)));
  const apks = manifest.apps[0]?.apks ?? [];
  return [
    ...apks.map((a): CraftEntry => ({ path: `apps/${PKG}/apk/${a.name}`, body: 'apk!!' })),
    ...PARTS.flatMap((p): CraftEntry[] => [{ path: `apps/${PKG}/${p}/`, type: 'directory' }, ...inPart(p)]),
    ...elsewhere,
  ];
}

const link = (path: string, target: string): CraftEntry => ({ path, type: 'symlink', link: target });
const hardlink = (path: string, target: string): CraftEntry => ({ path, type: 'hardlink', link: target });

interface Case {
  name: string;
  /** the object, made for the manifest the sidecar then names (crafted ones: `manifest`) */
  object: () => Buffer | Promise<Buffer>;
  crafted: boolean;
  code: string;
  why: RegExp;
  /** phone paths the attack means to create or change */
  aims: string[];
  /** how much the heap and buffers of this process (the service's) may grow while it is refused */
  memoryBound?: number;
}

const entries = (name: string, list: CraftEntry[], code: string, why: RegExp, aims: string[]): Case => ({
  name,
  object: () => craftArchive(manifest, withFolders(list)).object,
  crafted: true,
  code,
  why,
  aims,
});

const OUTSIDE = 'the app may not create it';
const unsafe = 'UnsafeBackupEntry';
const corrupt = 'BackupFileCorrupted';

const CASES: Case[] = [
  entries(
    'an absolute entry into /data/system',
    [{ path: '/data/system/evil', body: OUTSIDE }],
    unsafe,
    /absolute path/,
    ['/data/system/evil'],
  ),
  entries(
    "an absolute entry naming the app's own folder",
    [{ path: `/data/user/0/${PKG}/files/evil`, body: OUTSIDE }],
    unsafe,
    /absolute path/,
    [`/data/user/0/${PKG}/files/evil`],
  ),
  entries(
    'a pax path that turns a harmless entry into an absolute one',
    [{ path: `${ce}/files/harmless`, body: OUTSIDE, pax: [{ path: '/data/system/evil' }] }],
    unsafe,
    /absolute path/,
    ['/data/system/evil', `/data/user/0/${PKG}/files/harmless`],
  ),
  entries(
    'a pax linkpath that points a harmless link at /data/system, then a write through it',
    [
      { path: `${ce}/sys`, type: 'symlink', link: 'files', pax: [{ linkpath: '/data/system' }] },
      { path: `${ce}/sys/packages.json`, body: '{}' },
    ],
    unsafe,
    /points outside the app's folders/,
    [`/data/user/0/${PKG}/sys`, '/data/system/packages.json'],
  ),
  entries(
    'a hard link to a file outside the app',
    [hardlink(`${ce}/packages.json`, '/data/system/packages.json')],
    unsafe,
    /hard link to something that is not an earlier file of the same folder/,
    [`/data/user/0/${PKG}/packages.json`, '/data/system/packages.json'],
  ),
  entries(
    'a hard link that climbs out of its folder',
    [hardlink(`${ce}/packages.json`, `${ce}/../../../../data/system/packages.json`)],
    unsafe,
    /hard link to something that is not an earlier file of the same folder/,
    [`/data/user/0/${PKG}/packages.json`, '/data/system/packages.json'],
  ),
  entries('a character device', [{ path: `${ce}/tty`, type: 'char' }], unsafe, /char entries are not allowed/, [
    `/data/user/0/${PKG}/tty`,
  ]),
  entries('a block device', [{ path: `${de}/sda`, type: 'block' }], unsafe, /block entries are not allowed/, [
    `/data/user_de/0/${PKG}/sda`,
  ]),
  entries(
    'a FIFO in a part the manifest does not list',
    [{ path: `apps/${PKG}/obb/ipc`, type: 'fifo' }],
    unsafe,
    /part obb is not in the manifest/,
    [`/data/media/0/Android/obb/${PKG}/ipc`],
  ),
  entries(
    'a FIFO of a package the manifest does not list',
    [{ path: 'apps/com.example.gallery/ce/ipc', type: 'fifo' }],
    unsafe,
    /package com\.example\.gallery is not in the manifest/,
    ['/data/user/0/com.example.gallery/ipc'],
  ),
  entries(
    'a pax header over 64 KiB',
    [{ path: `${ce}/files/a.txt`, body: 'a', pax: [{ comment: 'x'.repeat(65 * 1024) }] }],
    corrupt,
    /metadata records of one entry exceed 65536 bytes/,
    [`/data/user/0/${PKG}/files/a.txt`],
  ),
  entries(
    'pax headers that add up to more than 64 KiB',
    [{ path: `${ce}/files/a.txt`, body: 'a', pax: [1, 2, 3].map((i) => ({ [`k${i}`]: 'x'.repeat(30 * 1024) })) }],
    corrupt,
    /metadata records of one entry exceed 65536 bytes/,
    [`/data/user/0/${PKG}/files/a.txt`],
  ),
  entries(
    'a pax size far beyond the end of the archive',
    [{ path: `${ce}/files/a.txt`, body: 'a', pax: [{ size: String(2 ** 40) }] }],
    corrupt,
    /truncated/,
    [`/data/user/0/${PKG}/files/a.txt`],
  ),
  entries(
    'a symlink chain that leaves through a link into another part',
    [link(`${ce}/x`, `/data/user_de/0/${PKG}`), link(`${ce}/z`, `/data/user/0/${PKG}/x/..`)],
    unsafe,
    /through another symlink/,
    [`/data/user/0/${PKG}/x`, `/data/user/0/${PKG}/z`],
  ),
  entries(
    'the same chain across parts, the first link in the other part and last in the archive',
    [link(`${ce}/z`, `/data/user_de/0/${PKG}/x/..`), link(`${de}/x`, `/data/user/0/${PKG}`)],
    unsafe,
    /through another symlink/,
    [`/data/user/0/${PKG}/z`, `/data/user_de/0/${PKG}/x`],
  ),
  entries(
    'a chain of two links over three parts that ends above the folder',
    [
      link(`${ce}/a`, `/data/user_de/0/${PKG}/b`),
      link(`${de}/b`, `/storage/emulated/0/Android/data/${PKG}`),
      link(`${ce}/z`, `/data/user/0/${PKG}/a/c/../..`),
      { path: `${external}/files/`, type: 'directory' },
    ],
    unsafe,
    /through another symlink/,
    [`/data/user/0/${PKG}/a`, `/data/user/0/${PKG}/z`, `/data/user_de/0/${PKG}/b`],
  ),
  {
    name: 'a SHA256SUMS that decompresses to 256 MiB',
    crafted: true,
    async object() {
      const claim = 256 * 2 ** 20;
      const chunk = Buffer.alloc(2 ** 20, `${'0'.repeat(64)}  ${ce}/files/padding\n`);
      const body = function* () {
        for (let sent = 0; sent < claim; sent += chunk.length) yield chunk;
      };
      const { object } = await craftArchiveStream(manifest, withFolders([]), { claimedSums: { size: claim, body } });
      // what makes it an attack: a few KB stored, hundreds of MB if held
      expect(object.length).toBeLessThan(2 ** 20);
      return object;
    },
    code: corrupt,
    why: /do not match SHA256SUMS/,
    aims: [],
    memoryBound: 64 * 2 ** 20,
  },
  {
    name: 'the real backup, truncated',
    crafted: false,
    object: () => {
      const whole = readFileSync(join(real.dir, real.key));
      return whole.subarray(0, Math.floor(whole.length * 0.7));
    },
    code: corrupt,
    why: /damaged/,
    aims: [],
  },
  {
    name: 'the real backup cut inside an entry and compressed again whole',
    crafted: false,
    // inside the data of a file the seed app writes in its DE folder (seed-apps.ts)
    object: () => zstd(['-q', '-c'], real.tar.subarray(0, real.tar.indexOf('direct boot ready\n') + 5)),
    code: corrupt,
    why: /tar: truncated data for apps\//,
    aims: [],
  },
  {
    name: 'the real backup with a byte of its compressed stream flipped',
    crafted: false,
    object: () => {
      const bytes = Buffer.from(readFileSync(join(real.dir, real.key)));
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] as number) ^ 0x01;
      return bytes;
    },
    code: corrupt,
    why: /damaged/,
    aims: [],
  },
  {
    name: "the real backup with a byte of a file's data flipped, compressed again",
    crafted: false,
    object: () => {
      const tar = Buffer.from(real.tar);
      // a file the seed app writes in its DE folder (seed-apps.ts), found in the real tar
      const at = tar.indexOf('direct boot ready\n');
      expect(at).toBeGreaterThan(0);
      tar[at] = (tar[at] as number) ^ 0x20;
      return zstd(['-q', '-c'], tar);
    },
    code: corrupt,
    why: /do not match SHA256SUMS/,
    aims: [],
  },
];

describe('RecoverApp refuses hostile archives that carry matching digests, and the phone stays as it was', () => {
  it.each(CASES)('$name', async (c) => {
    const root = phoneRoot();
    const apps = () => APP_FOLDERS.map((f) => snapshot(host(f)));
    const aimed = () =>
      c.aims.map((p): [string, Node | undefined] => {
        const st = lstatSync(host(p), { throwIfNoEntry: false });
        return [p, st ? (snapshot(host(p)).get('') as Node) : undefined];
      });
    // the listings must hold something, or comparing them proves nothing
    for (const tree of apps()) expect(tree.size).toBeGreaterThan(1);
    for (const p of c.aims)
      expect(lstatSync(join(host(p), '..'), { throwIfNoEntry: false })?.isDirectory(), p).toBe(true);
    const all = () => snapshot(root, { scratchIn: restoreScratchIn('/', APPS) });
    const before = { apps: apps(), aimed: aimed(), all: all() };

    const name = `${c.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.tar.zst`;
    const id = await register(name, await c.object(), c.crafted ? manifest : real.sidecar.manifest);
    const inUse = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const start = inUse();
    let peak = start;
    const sampler = setInterval(() => {
      peak = Math.max(peak, inUse());
    }, 1);
    const res = await call('RecoverApp', {
      BackupFileId: id,
      AndroidInstanceIdList: [stack.ids[0]],
      UploadType: 'OSS',
    });
    const batch = await waitTask(call, String(res.TaskId)).finally(() => clearInterval(sampler));
    if (c.memoryBound)
      expect(peak - start, `grew ${((peak - start) / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(c.memoryBound);
    const [child] = (await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
    expect(batch.TaskStatus).toBe('Failed');
    expect(child, String(child?.ErrorMsg)).toMatchObject({ TaskStatus: 'Failed', ErrorCode: c.code });
    expect(String(child?.ErrorMsg)).toMatch(c.why);

    expect(apps()).toEqual(before.apps);
    expect(aimed()).toEqual(before.aimed);
    expect(all()).toEqual(before.all);
    const [target] = (await call('DescribeAndroidInstances', { AndroidInstanceIds: [stack.ids[0]] }))
      .InstanceModel as Row[];
    expect(target).toMatchObject({ AndroidInstanceStatus: 'RECOVER_FAILED', ErrorCode: c.code });
    const [file] = (await call('DescribeBackupFiles', { BackupFileId: id })).Data as Row[];
    expect(file?.Status).toBe('RECOVERY_FAILED');
  });
});
