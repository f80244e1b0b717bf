import { DATA_PARTS, type DataPart } from '../android/layout.ts';
import { signerDigestFromTail } from '../apk/signing-block.ts';
import type { Device, PackageInfo } from '../devices/device.ts';
import { ERRORS } from '../errors.ts';
import type { AppManifest } from './archive/manifest.ts';

// What a backup records about each app it copies, read from the phone before anything is copied
// (the manifest is the archive's first entry).

/**
 * Each package's facts and manifest record, and the bytes its copy will read (du's estimate);
 * `absent` decides what a package not installed for user 0 means (throw, or record and skip it).
 */
export async function describeApps(
  device: Device,
  packages: readonly string[],
  signal: AbortSignal,
  absent: (pkg: string) => void,
): Promise<{ infos: PackageInfo[]; apps: AppManifest[]; total: number }> {
  const infos: PackageInfo[] = [];
  for (const pkg of packages) {
    const info = await device.packageInfo(pkg);
    if (info) infos.push(info);
    else absent(pkg);
  }
  const apps: AppManifest[] = [];
  let total = 0;
  for (const info of infos) {
    const parts: DataPart[] = [];
    const skipped: AppManifest['skipped'] = [];
    for (const part of DATA_PARTS) {
      const facts = await device.folderFacts(info.dataDirs[part]);
      if (!facts) continue;
      parts.push(part);
      total += facts.bytes;
      for (const path of facts.sockets) skipped.push({ part, path, type: 'socket' });
    }
    total += info.apks.reduce((n, a) => n + a.size, 0);
    apps.push({
      package: info.name,
      versionCode: info.versionCode,
      versionName: info.versionName,
      signerDigest: await signerOf(device, info, signal),
      sourceUid: info.uid,
      permissions: info.runtimePermissions
        .filter((p) => p.granted)
        .map((p) => p.name)
        .sort(),
      apks: info.apks.map((a) => ({ name: a.name, size: a.size })),
      parts,
      installer: info.installer,
      system: info.system,
      sharedUser: info.sharedUser,
      skipped,
    });
  }
  return { infos, apps, total };
}

const TAIL = 4 * 1024 * 1024;

/** The base APK's signer certificate digest, from its last bytes only (the signing block precedes the central directory). */
async function signerOf(device: Device, info: PackageInfo, signal: AbortSignal): Promise<string | null> {
  const base = info.apks.find((a) => a.name === 'base.apk') ?? info.apks[0];
  if (!base) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of device.readTail(base.path, TAIL, { signal })) chunks.push(chunk as Buffer);
  const tail = Buffer.concat(chunks);
  if (tail.length !== Math.min(TAIL, base.size)) {
    throw ERRORS.sourceChanged(
      base.path,
      `${Math.min(TAIL, base.size)} bytes expected at its end, ${tail.length} read`,
    );
  }
  return signerDigestFromTail(tail, base.size);
}
