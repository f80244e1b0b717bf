import { ERRORS } from '../../errors.ts';
import type { ArchiveEvent } from './archive-reader.ts';
import type { AppEntry } from './entry-guard.ts';
import type { PathEntry } from './path-guard.ts';
import { encodeHeader, padding } from './tar-header.ts';

// Walks a verified archive entry by entry, so a restore can hand each APK to an install
// session and each data part to the device's tar as separate streams, in archive order.

export class ArchiveCursor {
  private peeked: ArchiveEvent | undefined;

  constructor(
    private readonly events: AsyncGenerator<ArchiveEvent>,
    private readonly onData: (n: number) => void = () => {},
    /** a restore that stages the paths too; RecoverApp reads past them (it restores apps only) */
    private readonly pathsExpected = false,
  ) {}

  private async next(): Promise<ArchiveEvent> {
    let ev = this.peeked ?? (await this.events.next()).value;
    // the manifest is checked against the sidecar as it streams (verify-archive.ts); only entries matter here
    while (ev?.kind === 'manifest') ev = (await this.events.next()).value;
    this.peeked = undefined;
    if (!ev) throw ERRORS.corruptBackup('the archive ended early');
    return ev;
  }

  private async peek(): Promise<ArchiveEvent> {
    this.peeked ??= await this.next();
    return this.peeked;
  }

  /** The next entry if it belongs to pkg/part, else null (the entry stays unread). */
  async entryOf(pkg: string, part: string): Promise<AppEntry | null> {
    const ev = await this.peek();
    if (ev.kind !== 'entry' || ev.entry.pkg !== pkg || ev.entry.part !== part) return null;
    this.peeked = undefined;
    return ev.entry;
  }

  /** The data of the entry just taken. */
  async *body(): AsyncGenerator<Buffer> {
    for (;;) {
      const ev = await this.next();
      if (ev.kind === 'end') return;
      if (ev.kind === 'data') {
        this.onData(ev.chunk.length);
        yield ev.chunk;
      }
    }
  }

  /** A tar stream of one part's entries, with paths relative to the part's folder; counts them. */
  async *partTar(pkg: string, part: string, onEntry: () => void = () => {}): AsyncGenerator<Buffer> {
    for (let e = await this.entryOf(pkg, part); e; e = await this.entryOf(pkg, part)) {
      onEntry();
      const h = e.header;
      const path = e.rel ? `./${e.rel}${h.type === 'directory' ? '/' : ''}` : './';
      const linkpath = h.type === 'hardlink' ? `./${h.linkpath.split('/').slice(3).join('/')}` : h.linkpath;
      yield encodeHeader({ ...h, path, linkpath });
      yield* this.body();
      if (h.size) yield Buffer.alloc(padding(h.size));
    }
    yield Buffer.alloc(1024);
  }

  /** The next entry if it belongs to path `index`, else null (the entry stays unread). */
  async pathEntryOf(index: number): Promise<PathEntry | null> {
    const ev = await this.peek();
    if (ev.kind !== 'pathEntry' || ev.entry.index !== index) return null;
    this.peeked = undefined;
    return ev.entry;
  }

  /**
   * A tar stream of path `index`'s entries relative to its folder (`./`, `./a/b`), or for a file
   * path its one entry `./<name>`, for the phone's `tar -x -C <staging folder>`; counts them.
   */
  async *pathTar(index: number, onEntry: () => void = () => {}): AsyncGenerator<Buffer> {
    const root = `paths/${index}/`;
    for (let e = await this.pathEntryOf(index); e; e = await this.pathEntryOf(index)) {
      onEntry();
      const h = e.header;
      const path = e.rel ? `./${e.rel}${h.type === 'directory' ? '/' : ''}` : './';
      const linkpath = h.type === 'hardlink' ? `./${h.linkpath.slice(root.length)}` : h.linkpath;
      yield encodeHeader({ ...h, path, linkpath });
      yield* this.body();
      if (h.size) yield Buffer.alloc(padding(h.size));
    }
    yield Buffer.alloc(1024);
  }

  /** Stops reading early: the reader then stops zstd and closes the object stream. */
  async close(): Promise<void> {
    await this.events.return(undefined);
  }

  /** Reads to the end, which is where the archive's digests are checked. */
  async finish(): Promise<{ sha256: string; size: number }> {
    for (;;) {
      const ev = await this.next();
      if (ev.kind === 'done') return ev;
      if (ev.kind === 'entry') throw ERRORS.corruptBackup(`unexpected entry ${ev.entry.header.path}`);
      if (ev.kind === 'pathEntry' && this.pathsExpected) {
        throw ERRORS.corruptBackup(`unexpected entry ${ev.entry.header.path}`);
      }
    }
  }
}
