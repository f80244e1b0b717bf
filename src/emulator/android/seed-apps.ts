import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { AID, cacheGid } from './accounts.ts';
import { ceDir, createExternalDirs, deDir, externalDir, obbDir } from './app-dirs.ts';
import type { PackageService } from './package-service.ts';
import type { PhoneRoot } from './root-path.ts';
import { copyToFile } from './stream-copy.ts';

// Sample apps for demos and tests (`emulator --seed-apps`): the fixture APKs installed through an
// install session like any other, then data in every part a backup covers, with the owners,
// modes, links and old mtimes a real app leaves. Apps already installed are left alone.

// the package's fixtures folder, from the sources (src/emulator/android) or the build (dist)
const FIXTURES = path.join(packageRoot(import.meta.dirname), 'fixtures', 'apks');
const OLD = new Date('2023-03-14T15:09:26Z');
const OLDER = new Date('2021-07-01T08:00:00Z');
const BIG_FILE = 11 * 1024 * 1024;

export const SEED_APPS = [
  { pkg: 'com.example.notes', apks: ['notes.apk'], grant: 'android.permission.CAMERA' },
  { pkg: 'com.example.gallery', apks: ['gallery-base.apk', 'gallery-config.xxhdpi.apk'], grant: null },
] as const;

export async function seedApps(service: PackageService): Promise<void> {
  for (const app of SEED_APPS) {
    if (service.installed(app.pkg)) continue;
    const id = await service.createSession({
      allowDowngrade: false,
      grantAll: false,
      inheritFrom: null,
      installer: null,
    });
    for (const apk of app.apks) {
      const source = createReadStream(path.join(FIXTURES, apk));
      await service.write(id, apk, source, null).finally(() => source.destroy());
    }
    const record = await service.commit(id);
    if (app.grant) await service.update(app.pkg, { grantedPermissions: [app.grant] });
    await seedData(service.phone, app.pkg, record.uid, app.pkg === 'com.example.notes');
  }
}

async function seedData(phone: PhoneRoot, pkg: string, uid: number, big: boolean): Promise<void> {
  const w = new Writer(phone, uid, uid);
  const ce = ceDir(pkg);
  await w.dir(`${ce}/files`, 0o771);
  for (const sub of ['/notes', '/notes/2023', '/notes/2023/03', '/empty']) await w.dir(`${ce}/files${sub}`, 0o771);
  await w.file(`${ce}/files/notes/2023/03/pi-day.txt`, 'Buy pie.\n', 0o600, OLD);
  await w.file(`${ce}/files/notes/2023/03/remaining.md`, '- [ ] back up the phone\n', 0o640, OLD);
  await w.file(`${ce}/files/notes/index.json`, JSON.stringify({ pkg, notes: 2 }), 0o660);
  await w.file(`${ce}/files/run.sh`, '#!/system/bin/sh\necho hello\n', 0o755, OLDER);
  await w.link(`${ce}/files/latest`, 'notes/2023/03/pi-day.txt');
  await w.touch(`${ce}/files/notes/2023/03`, OLD);
  if (big) await w.random(`${ce}/files/blob.bin`, BIG_FILE, 0o600);
  await w.dir(`${ce}/databases`, 0o771);
  await w.sqlite(`${ce}/databases/${pkg.split('.').pop()}.db`);
  await w.dir(`${ce}/shared_prefs`, 0o771);
  await w.file(`${ce}/shared_prefs/${pkg}_preferences.xml`, prefs(pkg), 0o660, OLD);

  const cache = new Writer(phone, uid, cacheGid(uid));
  await cache.file(`${ce}/cache/thumbnail.tmp`, randomBytes(4096), 0o600);
  await cache.file(`${ce}/code_cache/startup.prof`, randomBytes(512), 0o600);
  await cache.file(`${deDir(pkg)}/cache/de-cache.tmp`, 'transient\n', 0o600);

  const de = deDir(pkg);
  await w.dir(`${de}/files`, 0o771);
  await w.file(`${de}/files/boot-state.txt`, 'direct boot ready\n', 0o600, OLDER);
  await w.dir(`${de}/shared_prefs`, 0o771);
  await w.file(`${de}/shared_prefs/alarms.xml`, prefs(pkg), 0o660);

  await createExternalDirs(phone, pkg, uid);
  const ext = new Writer(phone, uid, AID.mediaRw);
  await ext.dir(`${externalDir(pkg)}/files`, 0o2770);
  await ext.dir(`${externalDir(pkg)}/files/exports`, 0o2770);
  await ext.file(`${externalDir(pkg)}/files/exports/export-1.csv`, 'id,title\n1,Buy pie\n', 0o660, OLD);
  await ext.file(`${obbDir(pkg)}/main.1.${pkg}.obb`, randomBytes(64 * 1024), 0o660, OLDER);
}

const prefs = (pkg: string) =>
  `<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n    <string name="owner">${pkg}</string>\n    <boolean name="first_run" value="false" />\n</map>\n`;

/** creates entries owned by one uid:gid, confined to the phone folder */
class Writer {
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

function packageRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'fixtures', 'apks'))) return dir;
  }
  throw new Error(`fixtures/apks not found above ${from}`);
}
