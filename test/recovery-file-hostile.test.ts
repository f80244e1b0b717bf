import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest, Sidecar } from '../src/backup/archive/manifest.ts';
import { type Call, client } from './helpers/clients.ts';
import { type CraftEntry, craftArchive } from './helpers/craft-archive.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { restoreScratchIn, snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// Hostile file-backup archives through RecoveryFile, with a sidecar and a recorded digest that
// vouch for them (a compromised store and record together), so each reaches the path entry rules
// (src/backup/archive/path-guard.ts) or the manifest's: each is refused with its code and nothing
// on the phone changes, above all not what the attack aims at.

const ENDPOINT = 'oss-cn-shenzhen-internal.aliyuncs.com';
const X = '/data/local/tmp/x';

let stack: Stack;
let call: Call;
let manifest: Manifest;
let dir: string;
let bucket: string;
const host = (p: string) => join(stack.phones[0]?.phone.root as string, p);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  stack = await startStack({ phones: 1, seedApps: false });
  call = client('openapi-core V3', stack.url, stack.key);
  mkdirSync(host(`${X}/sub`), { recursive: true });
  writeFileSync(host(`${X}/sub/keep.txt`), 'the phone had this');
  const res = await call('BackupFile', {
    AndroidInstanceIdList: [stack.ids[0]],
    SourceFilePathList: [X],
    BackupFilePath: 'oss://hostile/files/',
    UploadEndpoint: ENDPOINT,
  });
  expect((await waitTask(call, String((res.Data as Row[])[0]?.TaskId))).TaskStatus).toBe('Finished');
  const file = await stack.service.db.backupFiles.get('default', String((res.Data as Row[])[0]?.BackupFileId));
  if (!file) throw new Error('no backup file');
  bucket = file.bucket;
  dir = join(stack.dataDir, 'objects', ENDPOINT, file.bucket);
  manifest = (JSON.parse(readFileSync(join(dir, `${file.objectKey}.json`), 'utf8')) as Sidecar).manifest;
}, 120_000);
afterAll(() => stack?.close());

/** stores the archive with a sidecar vouching for it, as an AVAILABLE file whose recorded digest matches */
async function register(name: string, m: object, entries: CraftEntry[]) {
  const { object } = craftArchive(m, entries);
  const sidecar = { manifest: m, size: object.length, sha256: sha256(object), dataBytes: 0 };
  writeFileSync(join(dir, name), object);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(sidecar));
  const f = await stack.service.db.backupFiles.create({
    account: 'default',
    instanceId: stack.ids[0] as string,
    instanceName: 'phone 0',
    name,
    description: 'hostile',
    path: 'oss://hostile/files/',
    endpoint: ENDPOINT,
    bucket,
    objectKey: name,
    apps: [],
    paths: [X],
    status: 'AVAILABLE',
  });
  await stack.service.db.backupFiles.update('default', f.id, { sha256: sidecar.sha256, size: sidecar.size });
  return f.id;
}

const folder = (entries: CraftEntry[]): CraftEntry[] => [{ path: 'paths/0/', type: 'directory' }, ...entries];
const link = (path: string, target: string): CraftEntry => ({ path, type: 'symlink', link: target });
const unsafe = 'UnsafeBackupEntry';

const CASES: [string, () => object, CraftEntry[], string, RegExp, string[]][] = [
  [
    'a ".." entry',
    () => manifest,
    folder([{ path: 'paths/0/../../../pwned', body: 'x' }]),
    unsafe,
    /"\.\."/,
    ['/data/pwned'],
  ],
  [
    'an absolute entry',
    () => manifest,
    folder([{ path: '/data/pwned', body: 'x' }]),
    unsafe,
    /absolute path/,
    ['/data/pwned'],
  ],
  [
    'a symlink out of the folder, then a write through it',
    () => manifest,
    folder([link('paths/0/sys', '/data/system'), { path: 'paths/0/sys/evil', body: 'x' }]),
    unsafe,
    /written through a symlink|points outside its folder/,
    ['/data/system/evil'],
  ],
  [
    'a relative symlink that climbs out',
    () => manifest,
    folder([link('paths/0/up', '../../../system')]),
    unsafe,
    /escapes its folder/,
    [`${X}/up`],
  ],
  [
    'a chain of links that each look confined but climb out together',
    () => manifest,
    folder([link('paths/0/here', '.'), link('paths/0/out', 'here/..')]),
    unsafe,
    /climbs out of a symlink/,
    [`${X}/out`],
  ],
  [
    'a hard link to a file outside',
    () => manifest,
    folder([{ path: 'paths/0/h', type: 'hardlink', link: '/data/system/packages.xml' }]),
    unsafe,
    /hard link/,
    [`${X}/h`],
  ],
  [
    'a device node',
    () => manifest,
    folder([{ path: 'paths/0/tty', type: 'char' }]),
    unsafe,
    /char entries/,
    [`${X}/tty`],
  ],
  [
    'an entry of a path the manifest does not have',
    () => manifest,
    folder([{ path: 'paths/3/evil', body: 'x' }]),
    unsafe,
    /path 3 is not in the manifest/,
    [`${X}/evil`],
  ],
  [
    'an entry before its folder',
    () => manifest,
    [
      { path: 'paths/0/early', body: 'x' },
      { path: 'paths/0/', type: 'directory' },
    ],
    unsafe,
    /before its path's folder/,
    [`${X}/early`],
  ],
  [
    'a manifest path with ".."',
    () => ({ ...manifest, paths: [{ ...manifest.paths[0], path: '/data/local/tmp/../../system/xbin' }] }),
    folder([]),
    'BackupFileCorrupted',
    /normalised path/,
    ['/system/xbin/su'],
  ],
  [
    'a manifest path outside the allowed roots',
    () => ({ ...manifest, paths: [{ ...manifest.paths[0], path: '/system/xbin' }] }),
    folder([{ path: 'paths/0/su', body: 'x' }]),
    unsafe,
    /outside the allowed roots/,
    ['/system/xbin/su'],
  ],
];

describe('RecoveryFile refuses hostile archives without touching the phone', () => {
  it.each(CASES)('%s', async (name, m, entries, code, why, aims) => {
    const local = () =>
      snapshot(host('/data/local'), { scratchIn: restoreScratchIn('/data/local', [], ['/data/local/tmp/x']) });
    const before = local();
    const id = await register(`${name.replace(/\W+/g, '-')}.tar.zst`, m(), entries);
    const res = await call('RecoveryFile', { BackupFileId: id, AndroidInstanceIdList: [stack.ids[0]] });
    const task = (await call('DescribeTasks', { ParentTaskId: res.TaskId, Level: 2 })).Data as Row[];
    const row = await waitTask(call, String(task[0]?.TaskId));
    expect(row).toMatchObject({ TaskStatus: 'Failed', ErrorCode: code });
    expect(String(row.ErrorMsg)).toMatch(why);
    expect(local()).toEqual(before);
    for (const aim of aims) expect(existsSync(host(aim)), aim).toBe(false);
    expect(readdirSync(host('/data/local/tmp')).filter((n) => n.startsWith('.cpb-'))).toEqual([]);
    // the file itself is at fault: it is marked so
    const file = ((await call('DescribeBackupFiles', { BackupFileId: id })).Data as Row[])[0];
    expect(file?.Status).toBe('RECOVERY_FAILED');
  });
});
