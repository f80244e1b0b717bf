import { signerDigestFromTail } from '../apk/signing-block.ts';
import type { DataPart, Device, PackageInfo } from '../devices/device.ts';
import { ERRORS } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { ArchiveWriter } from './archive/archive-writer.ts';
import type { AppManifest, InstanceFacts, Manifest } from './archive/manifest.ts';
import { writeSidecar } from './sidecar.ts';
import { storeArchive } from './store-archive.ts';

// One instance's BackupApp work: read every app's APKs and data parts from the device into
// one version 1 archive streamed straight into the object store, then write the sidecar.
// Apps are force-stopped and suspended while they are copied, and always resumed.

export interface BackupJob {
  backupFileId: string;
  instance: InstanceFacts;
  packages: string[];
  bucket: string;
  key: string;
}

export interface TaskContext {
  signal: AbortSignal;
  progress(done: number, total: number): void;
}

export interface BackupResult {
  size: number;
  sha256: string;
  manifest: Manifest;
  /** bytes of app data read from the device */
  sourceBytes: number;
}

const DATA_PARTS: DataPart[] = ['ce', 'de', 'external', 'obb'];
// the `lib` link points into the APK's install folder; the installer recreates it
const skipLib = (rel: string) => rel === 'lib' || rel.startsWith('lib/');

export async function backupApps(
  job: BackupJob,
  device: Device,
  store: ObjectStore,
  ctx: TaskContext,
): Promise<BackupResult> {
  const infos: PackageInfo[] = [];
  for (const pkg of job.packages) {
    const info = await device.packageInfo(pkg);
    if (!info) throw ERRORS.appNotInstalled(pkg, job.instance.id);
    infos.push(info);
  }
  const apps: AppManifest[] = [];
  let total = 0;
  for (const info of infos) {
    const parts: DataPart[] = [];
    for (const part of DATA_PARTS) {
      if (!(await device.exists(info.dataDirs[part]))) continue;
      parts.push(part);
      total += await device.usage(info.dataDirs[part]);
    }
    total += info.apks.reduce((n, a) => n + a.size, 0);
    apps.push({
      package: info.name,
      versionCode: info.versionCode,
      versionName: info.versionName,
      signerDigest: await signerOf(device, info, ctx.signal),
      sourceUid: info.uid,
      permissions: [...info.grantedPermissions].sort(),
      apks: info.apks.map((a) => ({ name: a.name, size: a.size })),
      parts,
    });
  }
  const manifest: Manifest = {
    format: 'cloudphone-backup',
    version: 1,
    created: new Date().toISOString(),
    backupFileId: job.backupFileId,
    instance: job.instance,
    apps,
  };
  let done = 0;
  ctx.progress(0, total);
  const onBytes = (n: number) => {
    done += n;
    ctx.progress(done, Math.max(total, done));
  };
  const stored = await storeArchive(store, job.bucket, job.key, ctx.signal, onBytes, async (w: ArchiveWriter) => {
    await w.writeManifest(manifest);
    for (const [i, info] of infos.entries()) await copyApp(device, w, info, apps[i] as AppManifest, ctx.signal);
  });
  ctx.progress(done, done); // the total was du's estimate; what was read is the truth
  try {
    await writeSidecar(store, job.bucket, job.key, { manifest, ...stored, dataBytes: done });
  } catch (err) {
    await store.delete(job.bucket, job.key).catch(() => {});
    throw err;
  }
  return { ...stored, manifest, sourceBytes: done };
}

async function copyApp(device: Device, w: ArchiveWriter, info: PackageInfo, app: AppManifest, signal: AbortSignal) {
  const mtime = Math.floor(Date.now() / 1000);
  await device.forceStop(info.name);
  await device.suspend(info.name);
  let copied = false;
  try {
    for (const apk of info.apks) {
      const meta = { mode: 0o644, uid: 1000, gid: 1000, size: apk.size, mtime };
      await w.addFile(`apps/${info.name}/apk/${apk.name}`, meta, device.readFile(apk.path, { signal }));
    }
    for (const part of app.parts) {
      const tar = device.tarOut(info.dataDirs[part], { signal });
      await w.addTree(info.name, part, tar, part === 'ce' ? skipLib : undefined);
    }
    copied = true;
  } finally {
    // resume the app whatever happened; a failure to resume only surfaces if the copy itself succeeded
    await device.unsuspend(info.name).catch((err) => {
      if (copied) throw err;
    });
  }
}

const TAIL = 4 * 1024 * 1024;

/** The base APK's signer certificate digest, from its last bytes (bounded memory, one extra read). */
async function signerOf(device: Device, info: PackageInfo, signal: AbortSignal): Promise<string | null> {
  const base = info.apks.find((a) => a.name === 'base.apk') ?? info.apks[0];
  if (!base) return null;
  let tail = Buffer.alloc(0);
  for await (const chunk of device.readFile(base.path, { signal })) {
    tail = Buffer.concat([tail, chunk as Buffer]);
    if (tail.length > 2 * TAIL) tail = tail.subarray(tail.length - TAIL);
  }
  return signerDigestFromTail(tail.subarray(Math.max(0, tail.length - TAIL)), base.size);
}
