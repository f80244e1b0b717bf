import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { DataPart, Device } from '../devices/device.ts';
import { ERRORS } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ArchiveCursor } from './archive/archive-cursor.ts';
import { readArchive } from './archive/archive-reader.ts';
import { batched } from './archive/batched.ts';
import type { AppManifest, InstanceFacts, Sidecar } from './archive/manifest.ts';
import type { TaskContext } from './backup-apps.ts';
import { checkCompatibility } from './compatibility.ts';
import { readSidecar } from './sidecar.ts';

// One target's RecoverApp work. The whole archive is verified first (object digest against
// the sidecar, every entry against the entry rules, every file against SHA256SUMS, the entry
// order against the manifest), and only then is the target touched: per app, uninstall,
// install the APK set in one session, write the data parts, hand them to the new uid,
// relabel and grant the saved permissions.

export interface RecoverJob {
  bucket: string;
  key: string;
  target: InstanceFacts;
}

const CACHE_DIRS = ['cache', 'code_cache'];

export async function recoverApps(job: RecoverJob, device: Device, store: ObjectStore, ctx: TaskContext) {
  const sidecar = await readSidecar(store, job.bucket, job.key);
  checkCompatibility(sidecar.manifest.instance, job.target);
  // progress counts the archive's data twice: once verified, once written to the device
  const total = sidecar.dataBytes * 2;
  let done = 0;
  const tick = (n: number) => {
    done += n;
    ctx.progress(done, Math.max(total, done));
  };
  await verify(store, job, sidecar, tick, ctx.signal);
  const object = await store.get(job.bucket, job.key, { signal: ctx.signal });
  const cursor = new ArchiveCursor(readArchive(object), tick);
  const restored: string[] = [];
  for (const app of sidecar.manifest.apps) {
    await restoreApp(device, cursor, app, ctx.signal);
    restored.push(app.package);
  }
  const end = await cursor.finish();
  if (end.sha256 !== sidecar.sha256) throw ERRORS.corruptBackup('the object changed while it was restored');
  return { apps: restored };
}

async function verify(
  store: ObjectStore,
  job: RecoverJob,
  sidecar: Sidecar,
  tick: (n: number) => void,
  signal: AbortSignal,
) {
  const expected = sidecar.manifest.apps.flatMap((a) => [
    ...a.apks.map((k) => `${a.package}/apk/${k.name}`),
    ...a.parts.map((p) => `${a.package}/${p}`),
  ]);
  const groups: string[] = [];
  for await (const ev of readArchive(await store.get(job.bucket, job.key, { signal }))) {
    if (ev.kind === 'manifest' && JSON.stringify(ev.manifest) !== JSON.stringify(sidecar.manifest)) {
      throw ERRORS.corruptBackup('the archive manifest differs from its sidecar');
    }
    if (ev.kind === 'data') tick(ev.chunk.length);
    if (ev.kind === 'entry') {
      const { pkg, part, rel } = ev.entry;
      const group = part === 'apk' ? `${pkg}/apk/${rel}` : `${pkg}/${part}`;
      if (groups.at(-1) !== group) {
        if (part !== 'apk' && rel !== '') throw ERRORS.corruptBackup(`${group} does not start with its folder`);
        groups.push(group);
      }
    }
    if (ev.kind === 'done' && (ev.sha256 !== sidecar.sha256 || ev.size !== sidecar.size)) {
      throw ERRORS.corruptBackup('the archive does not match the digest recorded when it was made');
    }
  }
  if (groups.join('\n') !== expected.join('\n'))
    throw ERRORS.corruptBackup('the archive entries are not in manifest order');
}

async function restoreApp(device: Device, cursor: ArchiveCursor, app: AppManifest, signal: AbortSignal) {
  const pkg = app.package;
  if (await device.packageInfo(pkg)) {
    await device.forceStop(pkg);
    await device.uninstall(pkg);
  }
  await device.install(
    app.apks.map((apk) => ({
      name: apk.name,
      size: apk.size,
      open: () => Readable.from(batched(apkBody(cursor, pkg, apk.name))),
    })),
    { signal },
  );
  const info = await device.packageInfo(pkg);
  if (!info) throw ERRORS.deviceCommandFailed(pkg, `${pkg} is not installed after its install session`);
  for (const part of app.parts) {
    const dir = info.dataDirs[part];
    const label = await labelFor(device, dir, part);
    await device.tarIn(dir, Readable.from(batched(cursor.partTar(pkg, part))), { signal });
    await giveToApp(device, dir, part, info.uid, label.gid);
    await device.relabel(dir, label.context || undefined);
  }
  for (const permission of app.permissions) await device.grantPermission(pkg, permission);
}

async function* apkBody(cursor: ArchiveCursor, pkg: string, name: string): AsyncGenerator<Buffer> {
  const entry = await cursor.entryOf(pkg, 'apk');
  if (entry?.rel !== name) throw ERRORS.corruptBackup(`expected APK ${name} of ${pkg}`);
  yield* cursor.body();
}

/** The group and SELinux context the restored folder must carry, read from what Android created. */
async function labelFor(device: Device, dir: string, part: DataPart) {
  // external and OBB folders take their group and label from the parent (restorecon would
  // label them storage_file); CE and DE folders as the installer created them
  const from = part === 'external' || part === 'obb' ? posix.dirname(dir) : dir;
  return device.owner(from);
}

async function giveToApp(device: Device, dir: string, part: DataPart, uid: number, parentGid: number) {
  if (part === 'external' || part === 'obb') return device.chownTree(dir, uid, parentGid);
  await device.chownTree(dir, uid, uid);
  const cacheGid = (uid % 100000) - 10000 + 20000;
  for (const sub of CACHE_DIRS) {
    if (await device.exists(`${dir}/${sub}`)) await device.chownTree(`${dir}/${sub}`, uid, cacheGid);
  }
}
