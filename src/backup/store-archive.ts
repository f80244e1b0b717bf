import { ERRORS, ServiceError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ArchiveWriter } from './archive/archive-writer.ts';
import { digestTap } from './archive/digest-tap.ts';
import { zstdCompress } from './archive/zstd.ts';

// Streams an archive through zstd into the object store without a temporary copy. The stored
// body only ends after the whole archive was written and zstd exited cleanly; any failure
// destroys it instead, so the store discards the partial object rather than keeping a
// truncated archive that looks complete.

export interface StoreArchiveOptions {
  signal: AbortSignal;
  onBytes: (n: number) => void;
  checkFile?: (path: string, size: number) => void;
  /**
   * called once the whole archive is compressed, right before the body ends and the store
   * commits it (the last part, the multipart completion, the rename): throwing discards it
   */
  beforeCommit?: () => Promise<void>;
}

export async function storeArchive(
  store: ObjectStore,
  bucket: string,
  key: string,
  opts: StoreArchiveOptions,
  build: (w: ArchiveWriter) => Promise<void>,
): Promise<{ size: number; sha256: string }> {
  const { signal: outer, onBytes, checkFile } = opts;
  const z = zstdCompress();
  const tap = digestTap();
  const body = tap.stream;
  // the put reports what its body's failure meant, and the catch below rethrows the cause: the
  // destroy there must not also surface as an uncaught 'error' once the store stopped listening
  body.on('error', () => {});
  z.output.pipe(body, { end: false });
  const failed = new AbortController();
  const signal = AbortSignal.any([outer, failed.signal]);
  let putError: unknown;
  const put = store.put(bucket, key, body, { ifNoneMatch: true, signal }).catch((err: unknown) => {
    putError = err;
    failed.abort(err);
    throw err;
  });
  put.catch(() => {}); // awaited below; this only keeps an early failure from being unhandled
  try {
    const w = new ArchiveWriter(z.input, onBytes, signal, checkFile);
    await build(w);
    await w.finish();
    // a store that failed stops reading, so zstd may never exit on its own: stop waiting then
    await abortable(z.done, signal).catch((err: unknown) => {
      throw signal.aborted ? err : ERRORS.compressionFailed(messageOf(err));
    });
    await opts.beforeCommit?.();
    body.end();
    await put;
    return tap.digest();
  } catch (err) {
    z.kill();
    body.destroy(err instanceof Error ? err : new Error(String(err)));
    await put.catch(() => {});
    if (putError) throw putError instanceof ServiceError ? putError : ERRORS.storageFailed(messageOf(putError));
    if (outer.aborted) throw outer.reason;
    // the writer's output went away under it: the store stopped taking the archive
    if (err instanceof Error && err.message === 'archive output closed') throw ERRORS.storageFailed(err.message);
    throw err;
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
