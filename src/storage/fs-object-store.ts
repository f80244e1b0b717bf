import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ERRORS, ServiceError } from '../errors.ts';
import { assertBucket, assertKey, assertPrefix, objectUrl, TEMP_PREFIX } from './object-key.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';

// A folder per bucket under one root. A put streams into a uniquely named temp file beside the target,
// fsyncs it and only then renames (or, with ifNoneMatch, hard-links: link fails atomically on EEXIST) it
// into place, so a reader never sees a partial object and two racing writers cannot both win.

export class FsObjectStore implements ObjectStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
  }

  async put(
    bucket: string,
    key: string,
    body: Readable,
    opts: { ifNoneMatch?: boolean; signal?: AbortSignal } = {},
  ): Promise<number> {
    const url = objectUrl(bucket, key);
    let temp: string | undefined;
    try {
      const target = this.#path(bucket, key);
      opts.signal?.throwIfAborted();
      if (opts.ifNoneMatch && (await exists(target))) throw ERRORS.alreadyExists(`Object ${url}`);
      await io(`writing ${url}`, () => mkdir(dirname(target), { recursive: true }));
      temp = join(dirname(target), `${TEMP_PREFIX}${randomUUID()}`);
      // `flush` fsyncs before the close that pipeline waits for, so the data is durable before the rename.
      const out = createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true });
      // pipeline hands a source's error or an abort to the file stream too; only the file's own are storage's.
      let sourceError: unknown;
      let writeError: unknown;
      body.once('error', (err) => {
        // pipeline hands the file's own error back to the body too: that one stays the file's
        if (err !== writeError) sourceError = err;
      });
      out.once('error', (err) => {
        writeError = err;
      });
      try {
        await pipeline(body, out, { signal: opts.signal });
      } catch (err) {
        const own = err === writeError && err !== sourceError && !opts.signal?.aborted;
        throw own ? storageError(`writing ${url}`, err) : err;
      }
      await this.#commit(temp, target, url, opts.ifNoneMatch === true);
      temp = undefined;
      return out.bytesWritten;
    } catch (err) {
      body.destroy();
      if (temp) await rm(temp, { force: true }).catch(() => {});
      throw err;
    }
  }

  async sweepAbandoned(bucket: string, prefix: string, olderThanMs: number): Promise<number> {
    // temp files sit beside their targets: in the prefix's folder (a put writing one moves its mtime)
    const dir = this.#path(bucket, prefix.endsWith('/') || prefix === '' ? `${prefix}x` : prefix).replace(/[^/]+$/, '');
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
    let removed = 0;
    for (const e of entries) {
      if (!e.isFile() || !e.name.startsWith(TEMP_PREFIX)) continue;
      const st = await stat(join(dir, e.name)).catch(() => null);
      if (!st || Date.now() - st.mtimeMs < olderThanMs) continue;
      await rm(join(dir, e.name), { force: true });
      removed++;
    }
    return removed;
  }

  async #commit(temp: string, target: string, url: string, exclusive: boolean): Promise<void> {
    if (!exclusive) {
      await io(`writing ${url}`, () => rename(temp, target));
    } else {
      try {
        await link(temp, target);
      } catch (err) {
        if (errno(err) === 'EEXIST') throw ERRORS.alreadyExists(`Object ${url}`);
        throw storageError(`writing ${url}`, err);
      }
      // The object is complete under its name; a stray temp file is only untidy, so this may fail quietly.
      await rm(temp, { force: true }).catch(() => {});
    }
    // Make the new name durable too. The object is already visible and complete, so a failure here must not
    // turn the put into an error that invites a retry onto an existing name.
    const dir = await open(dirname(target), 'r').catch(() => null);
    await dir?.sync().catch(() => {});
    await dir?.close().catch(() => {});
  }

  async get(bucket: string, key: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    const url = objectUrl(bucket, key);
    const path = this.#path(bucket, key);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) throw ERRORS.objectNotFound(url);
      throw storageError(`reading ${url}`, err);
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw ERRORS.objectNotFound(url);
    }
    return createReadStream('', { fd: fh, signal: opts.signal });
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    const path = this.#path(bucket, key);
    const st = await io(`reading ${objectUrl(bucket, key)}`, () => stat(path).catch(nullIfMissing));
    return st?.isFile() ? { key, size: st.size, modified: st.mtime } : null;
  }

  async delete(bucket: string, key: string): Promise<void> {
    const path = this.#path(bucket, key);
    await io(`deleting ${objectUrl(bucket, key)}`, () => rm(path, { force: true }).catch(nullIfMissing));
  }

  async *list(bucket: string, prefix: string): AsyncIterable<ObjectInfo> {
    const base = join(this.#root, assertBucket(bucket));
    assertPrefix(prefix);
    yield* walk(base, prefix.slice(0, prefix.lastIndexOf('/') + 1), prefix);
  }

  #path(bucket: string, key: string): string {
    const path = resolve(this.#root, assertBucket(bucket), ...assertKey(key).split('/'));
    // Validation already excludes escapes; this second, independent check keeps it that way if it ever changes.
    if (!path.startsWith(this.#root + sep)) throw ERRORS.invalidParameter('Key', 'the key leaves the storage root');
    return path;
  }
}

// Keys come out in the byte order S3 lists them: a folder sorts as its name plus '/'.
async function* walk(base: string, rel: string, prefix: string): AsyncGenerator<ObjectInfo> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(base, rel), { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw storageError(`listing ${rel || '/'}`, err);
  }
  const sorted = entries
    .filter((e) => !e.name.startsWith(TEMP_PREFIX) && (e.isFile() || e.isDirectory()))
    .map((e) => ({ e, order: e.isDirectory() ? `${e.name}/` : e.name }))
    .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  for (const { e, order } of sorted) {
    const key = rel + order;
    if (e.isDirectory()) {
      if (prefix.startsWith(key) || key.startsWith(prefix)) yield* walk(base, key, prefix);
    } else if (key.startsWith(prefix)) {
      const st = await stat(join(base, key)).catch(nullIfMissing);
      if (st) yield { key, size: st.size, modified: st.mtime };
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(nullIfMissing)) !== null;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isMissing(err: unknown): boolean {
  const code = errno(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function nullIfMissing(err: unknown): null {
  if (isMissing(err)) return null;
  throw err;
}

async function io<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw storageError(what, err);
  }
}

/** A ServiceError naming the object and the system's reason, without the host path Node puts in messages. */
export function storageError(what: string, err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  const e = err as NodeJS.ErrnoException;
  const reason = /^[A-Z0-9_]+: ([^,]+)/.exec(e?.message ?? '')?.[1] ?? e?.message ?? String(err);
  const why = `${what}: ${reason}${e?.code ? ` (${e.code})` : ''}`;
  const failure =
    e?.code === 'ENOSPC' || e?.code === 'EDQUOT' ? ERRORS.storageQuotaExceeded(why) : ERRORS.storageFailed(why);
  (failure as { cause?: unknown }).cause = err;
  return failure;
}
