import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import type { PhoneRoot } from './root-path.ts';
import { copyToFile } from './stream-copy.ts';

// Writes the seed apps' data on the host side, confined to the phone folder, with the owners,
// modes and mtimes a real app leaves.

/** creates entries owned by one uid:gid, confined to the phone folder */
export class Writer {
  constructor(
    private readonly phone: PhoneRoot,
    private readonly uid: number,
    private readonly gid: number,
  ) {}

  async dir(phonePath: string, mode: number): Promise<void> {
    await this.phone.ensureDir(phonePath, this.uid, this.gid, mode);
  }

  async file(phonePath: string, content: string | Buffer, mode: number, mtime?: Date): Promise<void> {
    const host = await this.fresh(phonePath);
    await fsp.writeFile(host, content, { flag: 'wx', mode });
    await this.finish(host, mode, mtime);
  }

  async random(phonePath: string, size: number, mode: number): Promise<void> {
    const host = await this.fresh(phonePath);
    // generated in 1 MiB pieces: memory stays flat whatever the size
    async function* pieces() {
      for (let left = size; left > 0; left -= 1 << 20) yield randomBytes(Math.min(left, 1 << 20));
    }
    await copyToFile(Readable.from(pieces()), host, null);
    await this.finish(host, mode);
  }

  async sqlite(phonePath: string): Promise<void> {
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'seed-db-'));
    try {
      const db = new Database(path.join(tmp, 'app.db'));
      db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT, created INTEGER)');
      const insert = db.prepare('INSERT INTO notes (title, body, created) VALUES (?, ?, ?)');
      for (let i = 1; i <= 50; i++) insert.run(`Note ${i}`, `Body of note ${i}\n`.repeat(i % 7), 1678806566 + i);
      db.close();
      const host = await this.fresh(phonePath);
      await fsp.copyFile(path.join(tmp, 'app.db'), host, fsp.constants.COPYFILE_EXCL);
      await this.finish(host, 0o660);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  async link(phonePath: string, target: string): Promise<void> {
    const host = await this.fresh(phonePath);
    await fsp.symlink(target, host);
    await fsp.lchown(host, this.uid, this.gid);
  }

  async touch(phonePath: string, mtime: Date): Promise<void> {
    const host = await this.phone.resolve(phonePath, false);
    await fsp.utimes(host, mtime, mtime);
  }

  private async fresh(phonePath: string): Promise<string> {
    const host = await this.phone.resolve(phonePath, false);
    await fsp.rm(host, { recursive: true, force: true });
    return host;
  }

  private async finish(host: string, mode: number, mtime?: Date): Promise<void> {
    await fsp.lchown(host, this.uid, this.gid);
    await fsp.chmod(host, mode);
    if (mtime) await fsp.utimes(host, mtime, mtime);
  }
}
