import { maxTarFileSize } from '../../android/releases.ts';
import { ERRORS } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { ArchiveCursor } from '../archive/archive-cursor.ts';
import { type ArchiveEvent, readArchive } from '../archive/archive-reader.ts';
import type { Sidecar } from '../archive/manifest.ts';

// A restore reads its archive once. The reader checks every entry against the entry rules as it
// streams and, at the end, the links of the whole set and every file against SHA256SUMS; here,
// also as it streams, the manifest against the sidecar, each file's size against what the
// target's tar can write, and the entries' order against the manifest (which the cursor relies
// on); at the end the object's digest and size against the sidecar. Entries reach only staging
// folders on the phone before the end is reached (docs/restore.md), and nothing the apps use is
// touched until it has been: a check that fails at the end leaves only scratch to remove.

export interface RestoreTarget {
  sdk: number;
  androidVersion: string;
}

/** the archive of `object`, checked against its sidecar, to be walked entry by entry */
export async function openVerified(
  store: ObjectStore,
  object: { bucket: string; key: string },
  sidecar: Sidecar,
  target: RestoreTarget,
  opts: { tick: (n: number) => void; signal: AbortSignal; pathsExpected?: boolean },
): Promise<ArchiveCursor> {
  const events = againstSidecar(await openEvents(store, object, opts.signal), sidecar, target);
  return new ArchiveCursor(events, opts.tick, opts.pathsExpected);
}

/** reads the whole archive and checks it, writing nothing (test helpers audit stored objects with it) */
export async function verifyArchive(
  store: ObjectStore,
  object: { bucket: string; key: string },
  sidecar: Sidecar,
  target: RestoreTarget,
  tick: (n: number) => void,
  signal: AbortSignal,
): Promise<void> {
  for await (const ev of againstSidecar(await openEvents(store, object, signal), sidecar, target)) {
    if (ev.kind === 'data') tick(ev.chunk.length);
  }
}

async function openEvents(store: ObjectStore, object: { bucket: string; key: string }, signal: AbortSignal) {
  return readArchive(await store.get(object.bucket, object.key, { signal }));
}

async function* againstSidecar(
  events: AsyncGenerator<ArchiveEvent>,
  sidecar: Sidecar,
  target: RestoreTarget,
): AsyncGenerator<ArchiveEvent> {
  const limit = maxTarFileSize(target.sdk);
  const expected = [
    ...sidecar.manifest.apps.flatMap((a) => [
      ...a.apks.map((k) => `${a.package}/apk/${k.name}`),
      ...a.parts.map((p) => `${a.package}/${p}`),
    ]),
    // a file backup's paths follow its apps, each as one run of entries (path-manifest.ts)
    ...sidecar.manifest.paths.map((_, i) => `paths/${i}`),
  ];
  let groups = 0;
  let current = '';
  // an order fault is reported only once the rest has been read (and nothing more yielded), so
  // that an archive is refused for its worst fault: an unsafe entry or a damaged file after it
  let disorder: Error | null = null;
  const enter = (group: string, startsWithFolder: boolean) => {
    if (group === current) return;
    if (expected[groups] !== group) disorder = ERRORS.corruptBackup('the archive entries are not in manifest order');
    else if (!startsWithFolder) disorder = ERRORS.corruptBackup(`${group} does not start with its folder`);
    current = group;
    groups++;
  };
  const sizeOk = (header: { type: string; size: number; path: string }) => {
    if (header.type === 'file' && header.size > limit) {
      throw ERRORS.fileTooLarge(header.path, header.size, target.androidVersion);
    }
  };
  for await (const ev of events) {
    if (ev.kind === 'manifest' && JSON.stringify(ev.manifest) !== JSON.stringify(sidecar.manifest)) {
      throw ERRORS.corruptBackup('the archive manifest differs from its sidecar');
    }
    if (ev.kind === 'entry') {
      const { pkg, part, rel, header } = ev.entry;
      sizeOk(header);
      enter(part === 'apk' ? `${pkg}/apk/${rel}` : `${pkg}/${part}`, part === 'apk' || rel === '');
    }
    if (ev.kind === 'pathEntry') {
      const { index, rel, header } = ev.entry;
      sizeOk(header);
      // a file path is its one entry; a folder's first entry is the folder itself
      enter(`paths/${index}`, sidecar.manifest.paths[index]?.type !== 'directory' || rel === '');
    }
    if (ev.kind === 'done') {
      if (ev.sha256 !== sidecar.sha256 || ev.size !== sidecar.size) {
        throw ERRORS.corruptBackup('the archive does not match the digest recorded when it was made');
      }
      if (disorder) throw disorder;
      if (groups !== expected.length) throw ERRORS.corruptBackup('the archive entries are not in manifest order');
    }
    if (!disorder) yield ev;
  }
}
