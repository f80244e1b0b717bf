import { maxTarFileSize } from '../android/releases.ts';
import { ERRORS } from '../errors.ts';
import { failpoint } from '../failpoints.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { ArchiveWriter } from './archive/archive-writer.ts';
import type { InstanceFacts, Manifest } from './archive/manifest.ts';
import { writeSidecar } from './sidecar.ts';
import { storeArchive } from './store-archive.ts';

// How every backup kind publishes its archive: streamed through zstd into the store (committed
// behind the fence), then the sidecar, also behind the fence, whose presence marks it complete.

/**
 * Stores the archive `build` writes, then, behind the fence, its sidecar: the archive is
 * AVAILABLE-able only once both are in. A failed sidecar takes the archive with it.
 */
export async function storeAndSeal(
  store: ObjectStore,
  job: { bucket: string; key: string; instance: InstanceFacts },
  run: { manifest: Manifest; signal: AbortSignal; onBytes: (n: number) => void; fence: () => Promise<void> },
  build: (w: ArchiveWriter) => Promise<void>,
): Promise<{ size: number; sha256: string }> {
  let dataBytes = 0;
  const onBytes = (n: number) => {
    dataBytes += n;
    run.onBytes(n);
  };
  const limit = maxTarFileSize(job.instance.sdk);
  const checkFile = (path: string, size: number) => {
    if (size > limit) throw ERRORS.fileTooLarge(path, size, job.instance.androidVersion);
  };
  const archive = { signal: run.signal, onBytes, checkFile, beforeCommit: run.fence };
  const stored = await storeArchive(store, job.bucket, job.key, archive, build);
  failpoint('backup:after-upload');
  try {
    await run.fence();
    await writeSidecar(store, job.bucket, job.key, { manifest: run.manifest, ...stored, dataBytes });
  } catch (err) {
    await store.delete(job.bucket, job.key).catch(() => {});
    throw err;
  }
  failpoint('backup:after-sidecar');
  return stored;
}
