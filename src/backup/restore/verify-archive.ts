import { maxTarFileSize } from '../../android/releases.ts';
import { ERRORS } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { readArchive } from '../archive/archive-reader.ts';
import type { Sidecar } from '../archive/manifest.ts';

// The verify pass of a restore: the whole archive is read before the target is touched. The
// reader checks every entry against the entry rules and every file against SHA256SUMS; here the
// object's digest and size are checked against the sidecar and the entry order against the
// manifest, which the apply pass relies on.

export async function verifyArchive(
  store: ObjectStore,
  object: { bucket: string; key: string },
  sidecar: Sidecar,
  target: { sdk: number; androidVersion: string },
  tick: (n: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const limit = maxTarFileSize(target.sdk);
  const expected = [
    ...sidecar.manifest.apps.flatMap((a) => [
      ...a.apks.map((k) => `${a.package}/apk/${k.name}`),
      ...a.parts.map((p) => `${a.package}/${p}`),
    ]),
    // a file backup's paths follow its apps, each as one run of entries (path-manifest.ts)
    ...sidecar.manifest.paths.map((_, i) => `paths/${i}`),
  ];
  const groups: string[] = [];
  for await (const ev of readArchive(await store.get(object.bucket, object.key, { signal }))) {
    if (ev.kind === 'manifest' && JSON.stringify(ev.manifest) !== JSON.stringify(sidecar.manifest)) {
      throw ERRORS.corruptBackup('the archive manifest differs from its sidecar');
    }
    if (ev.kind === 'data') tick(ev.chunk.length);
    if (ev.kind === 'entry') {
      const { pkg, part, rel, header } = ev.entry;
      if (header.type === 'file' && header.size > limit) {
        throw ERRORS.fileTooLarge(header.path, header.size, target.androidVersion);
      }
      const group = part === 'apk' ? `${pkg}/apk/${rel}` : `${pkg}/${part}`;
      if (groups.at(-1) !== group) {
        if (part !== 'apk' && rel !== '') throw ERRORS.corruptBackup(`${group} does not start with its folder`);
        groups.push(group);
      }
    }
    if (ev.kind === 'pathEntry') {
      const { index, rel, header } = ev.entry;
      if (header.type === 'file' && header.size > limit) {
        throw ERRORS.fileTooLarge(header.path, header.size, target.androidVersion);
      }
      const group = `paths/${index}`;
      if (groups.at(-1) !== group) {
        // a file path is its one entry; a folder's first entry is the folder itself
        if (sidecar.manifest.paths[index]?.type === 'directory' && rel !== '')
          throw ERRORS.corruptBackup(`${group} does not start with its folder`);
        groups.push(group);
      }
    }
    if (ev.kind === 'done' && (ev.sha256 !== sidecar.sha256 || ev.size !== sidecar.size)) {
      throw ERRORS.corruptBackup('the archive does not match the digest recorded when it was made');
    }
  }
  if (groups.join('\n') !== expected.join('\n')) {
    throw ERRORS.corruptBackup('the archive entries are not in manifest order');
  }
}
