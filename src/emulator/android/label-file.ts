import { type BigIntStats, promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AID } from './accounts.ts';
import type { PhoneRoot } from './root-path.ts';

// Where the label store keeps its xattrs: a JSON file in the phone's own /data/system, so labels
// live and die with the phone folder. Written whole, to a temporary name and renamed, one write at
// a time; validated on load, since the phone's root shell can edit it. Labels of deleted files
// are dropped now and then by a walk of the folder, once the file has doubled since the last one.

export const LABELS_PATH = '/data/system/emulator-selinux-labels.json';
const PRUNE_FROM = 2000;

const CONTEXT = /^[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:s\d+(-s\d+)?(:c\d+([.,]c\d+)*)?$/;
const fileSchema = z.object({
  version: z.literal(1),
  /** inode count after the last prune */
  pruned: z.number().int().nonnegative(),
  /** inode key → security.selinux */
  labels: z.record(z.string(), z.string().regex(CONTEXT)),
  /** folder inode key → restorecon's security.sehash */
  sehash: z.record(z.string(), z.string()),
});

/** an inode's identity: device, inode number, birth time in ns (tells a reused number apart) */
export const inodeKey = (st: BigIntStats) => `${st.dev}:${st.ino}:${st.birthtimeNs}`;

export class LabelFile {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly host: string,
    private readonly labels: Map<string, string>,
    private readonly hashes: Map<string, string>,
    private pruned: number,
  ) {}

  static async load(phone: PhoneRoot): Promise<LabelFile> {
    const host = await phone.resolve(LABELS_PATH);
    const text = await fsp.readFile(host, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    const data = text === null ? { pruned: 0, labels: {}, sehash: {} } : fileSchema.parse(JSON.parse(text));
    const file = new LabelFile(host, new Map(Object.entries(data.labels)), new Map(Object.entries(data.sehash)), 0);
    file.pruned = data.pruned;
    if (file.labels.size > Math.max(PRUNE_FROM, 2 * file.pruned)) await file.prune(phone.root);
    return file;
  }

  get(key: string): string | undefined {
    return this.labels.get(key);
  }

  set(key: string, context: string): void {
    this.labels.set(key, context);
  }

  hash(key: string): string | undefined {
    return this.hashes.get(key);
  }

  setHash(key: string, digest: string): void {
    this.hashes.set(key, digest);
  }

  /** writes the current state; calls made while a write runs are folded into the next one */
  save(): Promise<void> {
    const run = this.writing.then(() => this.write());
    this.writing = run.catch(() => {});
    return run;
  }

  private async write(): Promise<void> {
    const data = {
      version: 1,
      pruned: this.pruned,
      labels: Object.fromEntries(this.labels),
      sehash: Object.fromEntries(this.hashes),
    };
    // 'wx' refuses to write through a link planted at the temporary name
    await fsp.rm(`${this.host}.tmp`, { force: true });
    await fsp.writeFile(`${this.host}.tmp`, `${JSON.stringify(data)}\n`, { mode: 0o600, flag: 'wx' });
    await fsp.lchown(`${this.host}.tmp`, AID.system, AID.system);
    await fsp.rename(`${this.host}.tmp`, this.host);
  }

  /** forgets the labels of inodes that no longer exist in the phone folder */
  private async prune(root: string): Promise<void> {
    const live = new Set<string>();
    const visit = async (dir: string) => {
      for (const name of await fsp.readdir(dir).catch(() => [])) {
        const p = path.join(dir, name);
        const st = await fsp.lstat(p, { bigint: true }).catch(() => null);
        if (!st) continue;
        live.add(inodeKey(st));
        if (st.isDirectory()) await visit(p);
      }
    };
    live.add(inodeKey(await fsp.lstat(root, { bigint: true })));
    await visit(root);
    for (const key of [...this.labels.keys()]) if (!live.has(key)) this.labels.delete(key);
    for (const key of [...this.hashes.keys()]) if (!live.has(key)) this.hashes.delete(key);
    this.pruned = this.labels.size;
    await this.save();
  }
}
