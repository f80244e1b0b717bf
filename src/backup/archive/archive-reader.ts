import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ERRORS, ServiceError } from '../../errors.ts';
import { digestTap } from './digest-tap.ts';
import { type AppEntry, EntryGuard } from './entry-guard.ts';
import { MANIFEST_NAME, type Manifest, manifestSchema, SUMS_NAME, sumsLine } from './manifest.ts';
import { type PathEntry, PathGuard } from './path-guard.ts';
import type { TarEvent } from './tar-reader.ts';
import { readTar } from './tar-reader.ts';
import { zstdDecompress } from './zstd.ts';

// Reads a stored archive as a stream of checked events. Every entry passes the EntryGuard,
// every file is hashed and the whole list compared with SHA256SUMS, and the compressed bytes
// are hashed for the sidecar, so a consumer that reaches `done` has read a verified archive.
// Nothing is held in memory because the archive says so: SHA256SUMS is compared as it streams
// with the list computed from the entries, and the manifest is bounded.

export type ArchiveEvent =
  | { kind: 'manifest'; manifest: Manifest }
  | { kind: 'entry'; entry: AppEntry }
  /** an entry of a file backup's paths/<i>/ (path-guard.ts) */
  | { kind: 'pathEntry'; entry: PathEntry }
  | { kind: 'data'; chunk: Buffer }
  | { kind: 'end' }
  | { kind: 'done'; sha256: string; size: number };

const MAX_MANIFEST = 1024 * 1024;

export async function* readArchive(object: Readable): AsyncGenerator<ArchiveEvent> {
  const z = zstdDecompress();
  // awaited below when the archive is read to its end; a restore that stops early (its own
  // error, a fault in the stream) must not leave zstd's exit as an unhandled rejection
  z.done.catch(() => {});
  const tap = digestTap();
  let feedError: unknown;
  const feeding = pipeline(object, tap.stream, z.input).catch((err) => {
    feedError = err;
  });
  let finished = false;
  try {
    yield* checkedEvents(readTar(z.output));
    await feeding;
    if (feedError) throw feedError;
    await z.done;
    finished = true;
    yield { kind: 'done', ...tap.digest() };
  } catch (err) {
    if (feedError && !(err instanceof ServiceError)) throw feedError;
    if (err instanceof ServiceError) throw err;
    throw ERRORS.corruptBackup(err instanceof Error ? err.message : String(err));
  } finally {
    if (!finished) {
      object.destroy();
      z.kill();
    }
  }
}

async function* checkedEvents(events: AsyncGenerator<TarEvent>): AsyncGenerator<ArchiveEvent> {
  let guard: EntryGuard | null = null;
  let pathGuard: PathGuard | null = null;
  let manifest: Manifest | null = null;
  let computed = '';
  let hash: ReturnType<typeof createHash> | null = null;
  let current = '';
  let sums = false;
  for await (const ev of events) {
    if (sums) throw ERRORS.corruptBackup(`an entry follows ${SUMS_NAME}`);
    if (ev.kind === 'entry') {
      const h = ev.header;
      if (!manifest) {
        if (h.path !== MANIFEST_NAME || h.type !== 'file' || h.size > MAX_MANIFEST) {
          throw ERRORS.corruptBackup(`the first entry is not ${MANIFEST_NAME}`);
        }
        const body = await collect(events, MAX_MANIFEST);
        manifest = parseManifest(body);
        guard = new EntryGuard(manifest);
        pathGuard = new PathGuard(manifest.paths);
        computed += sumsLine(createHash('sha256').update(body).digest('hex'), MANIFEST_NAME);
        yield { kind: 'manifest', manifest };
        continue;
      }
      if (h.path === SUMS_NAME) {
        if (h.type !== 'file') throw ERRORS.corruptBackup(`bad ${SUMS_NAME} entry`);
        await compareSums(events, h.size, Buffer.from(computed));
        sums = true;
        continue;
      }
      current = h.path;
      hash = h.type === 'file' ? createHash('sha256') : null;
      if (h.path.startsWith('paths/')) yield { kind: 'pathEntry', entry: (pathGuard as PathGuard).check(h) };
      else yield { kind: 'entry', entry: (guard as EntryGuard).check(h) };
    } else if (ev.kind === 'data') {
      hash?.update(ev.chunk);
      yield ev;
    } else {
      if (hash) computed += sumsLine(hash.digest('hex'), current);
      hash = null;
      yield ev;
    }
  }
  if (!manifest || !guard || !pathGuard) throw ERRORS.corruptBackup('the archive is empty');
  if (!sums) throw ERRORS.corruptBackup(`${SUMS_NAME} is missing: the archive is incomplete`);
  guard.checkLinkChains();
  pathGuard.checkLinkChains();
  const missing = [...guard.missing(), ...pathGuard.missing()];
  if (missing.length) throw ERRORS.corruptBackup(`entries listed in the manifest are missing: ${missing.join(', ')}`);
}

/** Reads the current entry's data up to its end event; it may not exceed `max` bytes. */
async function collect(events: AsyncGenerator<TarEvent>, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await events.next();
    if (next.done) throw ERRORS.corruptBackup('truncated entry');
    if (next.value.kind === 'end') return Buffer.concat(parts);
    if (next.value.kind !== 'data') continue;
    size += next.value.chunk.length;
    if (size > max) throw ERRORS.corruptBackup(`an entry exceeds ${max} bytes`);
    parts.push(next.value.chunk);
  }
}

/**
 * Compares the SHA256SUMS entry, as it streams, with the list computed from the entries before
 * it: a size or a byte that differs fails at once, so a claimed list is never held.
 */
async function compareSums(events: AsyncGenerator<TarEvent>, size: number, expected: Buffer): Promise<void> {
  const mismatch = () => ERRORS.corruptBackup(`file contents do not match ${SUMS_NAME}`);
  if (size !== expected.length) throw mismatch();
  let at = 0;
  for (;;) {
    const next = await events.next();
    if (next.done) throw ERRORS.corruptBackup('truncated entry');
    if (next.value.kind === 'end') {
      if (at !== expected.length) throw mismatch();
      return;
    }
    if (next.value.kind !== 'data') continue;
    const chunk = next.value.chunk;
    if (at + chunk.length > expected.length || !chunk.equals(expected.subarray(at, at + chunk.length)))
      throw mismatch();
    at += chunk.length;
  }
}

function parseManifest(body: Buffer): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw ERRORS.corruptBackup(`${MANIFEST_NAME} is not JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw ERRORS.corruptBackup(`${MANIFEST_NAME} is invalid: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
