import { execFileSync } from 'node:child_process';
import { copyFileSync, lchownSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheGid } from '../src/android/layout.ts';
import type { Sidecar } from '../src/backup/archive/manifest.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device, PackageInfo } from '../src/devices/device.ts';
import { packageServiceOf } from '../src/emulator/android/package-service.ts';
import { type AndroidRelease, RELEASES } from '../src/emulator/android/profile.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { type Call, client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Node, snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// The round trip on every Android release the service supports, with what real phones have and
// the old client got wrong: SELinux labels (the emulator's labelling mode), a second user (10)
// whose data a restore for user 0 must leave alone, an app suspended by someone else, a
// shared-uid pair, a system app the package manager refuses to suspend, an app whose installer
// is recorded, app media, and awkward files (a long CJK path, a symlink target over 100 bytes, a
// hard link, a FIFO, a socket, a sparse file). Phone A is backed up and restored onto phone B
// (where one app gets a new uid and one is missing for user 0) and onto A itself; trees, owners,
// labels, grants and installers are compared with what A had.

const NOTES = 'com.example.notes';
const GALLERY = 'com.example.gallery';
const APPS = [NOTES, GALLERY, 'com.example.sync', 'com.example.sync.plugin', 'com.example.launcher'];
const WELLBEING = 'com.google.android.apps.wellbeing';
const ENDPOINT = 'oss-cn-beijing.aliyuncs.com';
const PARTS: Record<string, string> = {
  ce: '/data/user/0',
  de: '/data/user_de/0',
  external: '/data/media/0/Android/data',
  obb: '/data/media/0/Android/obb',
  media: '/data/media/0/Android/media',
};
const CJK = '备份与恢复的长文件名测试目录'.repeat(3); // 126 bytes of UTF-8
const LONG_TARGET = `notes/${'deep-folder-name/'.repeat(7)}target.txt`;

describe.each(RELEASES)('Android %i', (release: AndroidRelease) => {
  let stack: Stack;
  let call: Call;
  const devices: Device[] = [];
  // the host folder of a phone path; on Android 10 /data/user/0 is a link to /data/data
  const host = (i: number, path: string) =>
    stack.phones[i]?.phone.hostOf(
      release === 10 ? path.replace(/^\/data\/user\/0(?=\/|$)/, '/data/data') : path,
    ) as string;

  beforeAll(async () => {
    stack = await startStack({ phones: 2, android: () => release });
    call = client('openapi-core V3', stack.url, stack.key);
    for (const p of stack.phones) devices.push(await connectAdb(p.address, { keyDir: join(stack.dataDir, 'adb') }));
    await prepareSource();
    await prepareTarget();
  }, 180_000);
  afterAll(async () => {
    for (const d of devices) await d.close();
    await stack?.close();
  });

  /** phone A: awkward files, app media, a foreign suspension, an installer */
  async function prepareSource() {
    const a = stack.phones[0]?.phone;
    if (!a) throw new Error('no phone');
    // reinstalled with an installer, as a store would: the backup must record it
    copyFileSync(join(import.meta.dirname, '../fixtures/apks/notes.apk'), host(0, '/data/local/tmp/notes.apk'));
    const reinstall = await shell(a, `pm install -r -i com.example.launcher --user 0 /data/local/tmp/notes.apk`);
    expect(reinstall.stdout).toMatch(/Success/);
    const info = (await devices[0]?.packageInfo(NOTES)) as PackageInfo;
    const ce = host(0, `/data/user/0/${NOTES}/files`);
    const own = (p: string) => lchownSync(p, info.uid, info.uid);
    mkdirSync(join(ce, CJK, CJK), { recursive: true });
    for (const d of [join(ce, CJK), join(ce, CJK, CJK)]) own(d);
    writeFileSync(join(ce, CJK, CJK, '笔记.txt'), '长路径\n');
    own(join(ce, CJK, CJK, '笔记.txt'));
    mkdirSync(join(ce, ...LONG_TARGET.split('/').slice(0, -1)), { recursive: true });
    writeFileSync(join(ce, LONG_TARGET), 'far away\n');
    symlinkSync(LONG_TARGET, join(ce, 'long-link'));
    execFileSync('ln', [join(ce, 'notes/index.json'), join(ce, 'index-hardlink.json')]);
    execFileSync('mkfifo', [join(ce, 'ipc.fifo')]);
    execFileSync('python3', [
      '-c',
      `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(join(ce, 'live.sock'))})`,
    ]);
    execFileSync('truncate', ['-s', '8M', join(ce, 'sparse.img')]);
    writeFileSync(join(ce, 'sparse.img'), 'data in a hole\n', { flag: 'r+' });
    execFileSync('chown', ['-R', `${info.uid}:${info.uid}`, ce]);
    // app media on shared storage, owned as the phone's release gives app folders there
    const media = host(0, `${PARTS.media}/${NOTES}`);
    mkdirSync(join(media, 'Pictures'), { recursive: true });
    writeFileSync(join(media, 'Pictures', 'photo.jpg'), Buffer.alloc(4096, 7));
    const parent = lstatSync(host(0, PARTS.media as string));
    execFileSync('chown', ['-R', `${release === 10 ? parent.uid : info.uid}:${parent.gid}`, media]);
    // Digital Wellbeing suspends the gallery, whose camera grant the backup must still record;
    // the backup must not lift that suspension
    expect((await shell(a, `pm grant --user 0 ${GALLERY} android.permission.CAMERA`)).code).toBe(0);
    await packageServiceOf(a).suspendAs(GALLERY, 0, WELLBEING);
  }

  /** phone B: the gallery with another uid (reinstalled), the notes missing for user 0 only */
  async function prepareTarget() {
    const b = stack.phones[1]?.phone;
    if (!b) throw new Error('no phone');
    const pm = packageServiceOf(b);
    await pm.uninstall(GALLERY, -1, false);
    copyFileSync(join(import.meta.dirname, '../fixtures/apks/gallery-base.apk'), host(1, '/data/local/tmp/g.apk'));
    copyFileSync(
      join(import.meta.dirname, '../fixtures/apks/gallery-config.xxhdpi.apk'),
      host(1, '/data/local/tmp/s.apk'),
    );
    expect((await shell(b, 'pm install /data/local/tmp/g.apk /data/local/tmp/s.apk')).stdout).toMatch(/Success/);
    await pm.uninstall(NOTES, 0, false);
    writeFileSync(host(1, `/data/user/10/${NOTES}/files-of-user-10.txt`), 'work profile data\n');
  }

  function trees(i: number, pkg: string) {
    const out = new Map<string, Map<string, Node>>();
    for (const [part, base] of Object.entries(PARTS)) {
      const dir = host(i, `${base}/${pkg}`);
      if (!lstatSync(dir, { throwIfNoEntry: false })) continue;
      out.set(part, snapshot(dir, { skip: (rel) => part === 'ce' && rel === 'lib' }));
    }
    return out;
  }

  const userTen = (i: number) =>
    [`/data/user/10`, `/data/user_de/10`, `/data/media/10`].map((d) => snapshot(host(i, d), { dirMtimes: false }));

  async function facts(i: number) {
    const out = new Map<string, PackageInfo>();
    for (const pkg of APPS) out.set(pkg, (await devices[i]?.packageInfo(pkg)) as PackageInfo);
    return out;
  }
  const granted = (info: PackageInfo | undefined) =>
    (info?.runtimePermissions ?? [])
      .filter((p) => p.granted)
      .map((p) => p.name)
      .sort();

  async function expectRestored(
    i: number,
    source: Map<string, Map<string, Map<string, Node>>>,
    from: Map<string, PackageInfo>,
  ) {
    const phone = stack.phones[i]?.phone;
    if (!phone) throw new Error('no phone');
    const now = await facts(i);
    for (const pkg of APPS) {
      const info = now.get(pkg) as PackageInfo;
      const was = from.get(pkg) as PackageInfo;
      expect(granted(info), `${pkg} grants`).toEqual(granted(was));
      expect(info.versionCode).toBe(was.versionCode);
      if (pkg === NOTES) expect(info.installer).toBe('com.example.launcher');
      const remap = (id: number) => (id === was.uid ? info.uid : id === cacheGid(was.uid) ? cacheGid(info.uid) : id);
      for (const [part, tree] of source.get(pkg) ?? []) {
        const dir = `${PARTS[part]}/${pkg}`;
        const expected = new Map(
          [...tree]
            .filter(([, n]) => n.type !== 'socket')
            .map(([rel, n]) => [rel, { ...n, uid: remap(n.uid), gid: remap(n.gid) }]),
        );
        expect(trees(i, pkg).get(part), `${pkg} ${part}`).toEqual(expected);
        // every entry carries the context Android gives the folder (CE/DE: the app's, with its
        // categories; shared storage: the parent's), not the s0 of a file tar just made
        const want = await phone.labels.get(part === 'ce' || part === 'de' ? dir : (PARTS[part] as string));
        if (part === 'ce' || part === 'de') expect(want).toMatch(/^u:object_r:app_data_file:s0:c\d+,c\d+,c512,c768$/);
        const labels = (await phone.labels.getRecursive(dir)).filter(([p]) => !p.endsWith('/lib'));
        expect(
          labels.filter(([, c]) => c !== want),
          `${pkg} ${part} labels`,
        ).toEqual([]);
      }
    }
  }

  let fileId: string;
  let source: Map<string, Map<string, Map<string, Node>>>;
  let sourceFacts: Map<string, PackageInfo>;

  it('backs up every app, recording what the old client lost', async () => {
    const res = await call('BackupApp', {
      AndroidInstanceIdList: [stack.ids[0]],
      SourceAppList: APPS,
      BackupFilePath: 'oss://phones/android/',
      UploadEndpoint: ENDPOINT,
    });
    const task = await waitTask(call, String(res.TaskId), 120_000);
    expect(task.TaskStatus).toBe('Finished');
    fileId = String((res.Data as Row[])[0]?.BackupFileId);
    const [child] = (await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
    const result = JSON.parse(String(child?.Result)) as { warnings: string[] };
    // the launcher is the default home app: pm exits 0 but refuses to suspend it
    expect(result.warnings).toEqual([
      expect.stringMatching(/com\.example\.launcher: the package manager refused to suspend/),
    ]);

    source = new Map(APPS.map((p) => [p, trees(0, p)]));
    sourceFacts = await facts(0);
    // someone else's suspension is left as it was (Android 10 keeps a single suspender)
    expect(sourceFacts.get(GALLERY)).toMatchObject({ suspended: true, suspendedBy: [WELLBEING] });
    expect((await devices[0]?.packageInfo('com.example.launcher'))?.suspended).toBe(false);

    const file = await stack.service.db.backupFiles.get('default', fileId);
    const sidecar = JSON.parse(
      readFileSync(join(stack.dataDir, 'objects', ENDPOINT, 'phones', `${file?.objectKey}.json`), 'utf8'),
    ) as Sidecar;
    const app = (pkg: string) => sidecar.manifest.apps.find((a) => a.package === pkg);
    expect(app(NOTES)).toMatchObject({
      installer: 'com.example.launcher',
      parts: ['ce', 'de', 'external', 'obb', 'media'],
      skipped: [{ part: 'ce', path: 'files/live.sock', type: 'socket' }],
    });
    expect(app(NOTES)?.sourceUid).toBe(sourceFacts.get(NOTES)?.uid);
    // grants of a suspended app and of shared-uid apps are read, not dropped
    for (const pkg of APPS) expect(app(pkg)?.permissions, pkg).toEqual(granted(sourceFacts.get(pkg)));
    expect(app(GALLERY)?.permissions).toContain('android.permission.CAMERA');
    expect(app('com.example.sync')?.permissions).toContain('android.permission.READ_CONTACTS');
    expect(app('com.example.sync')?.sharedUser).toBe('com.example.shared');
    expect(app('com.example.launcher')?.system).toBe(true);
  }, 180_000);

  it('restores onto another phone, leaving its second user alone', async () => {
    const before = userTen(1);
    const res = await call('RecoverApp', {
      BackupFileId: fileId,
      AndroidInstanceIdList: [stack.ids[1]],
      UploadType: 'OSS',
    });
    const task = await waitTask(call, String(res.TaskId), 180_000);
    const [child] = (await call('DescribeTasks', { ParentTaskId: res.TaskId })).Data as Row[];
    expect(child, String(child?.ErrorMsg)).toMatchObject({ TaskStatus: 'Finished' });
    expect(task.TaskStatus).toBe('Finished');
    await expectRestored(1, source, sourceFacts);
    expect((await facts(1)).get(GALLERY)?.uid).not.toBe(sourceFacts.get(GALLERY)?.uid);
    expect(userTen(1)).toEqual(before);
  }, 180_000);

  it('restores onto the same phone after the app changed', async () => {
    writeFileSync(host(0, `/data/user/0/${NOTES}/files/new-after-backup.txt`), 'must go');
    const before = userTen(0);
    const res = await call('RecoverApp', {
      BackupFileId: fileId,
      AndroidInstanceIdList: [stack.ids[0]],
      UploadType: 'OSS',
    });
    const task = await waitTask(call, String(res.TaskId), 180_000);
    expect(task.TaskStatus, JSON.stringify(task)).toBe('Finished');
    await expectRestored(0, source, sourceFacts);
    expect(userTen(0)).toEqual(before);
  }, 180_000);
});
