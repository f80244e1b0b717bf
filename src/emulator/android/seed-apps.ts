import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import {
  ceDir,
  createExternalDirs,
  deDir,
  externalDir,
  externalFileOwner,
  externalOwner,
  labelAppData,
  obbDir,
} from './app-dirs.ts';
import type { PackageService } from './package-service.ts';
import { FLAG, NEW_RUNTIME_FLAGS } from './permissions.ts';
import { Writer } from './seed-writer.ts';
import { FIXTURES } from './system-apps.ts';
import { cacheGidOf, USER_ALL, uidOf } from './users.ts';

// Sample apps for demos and tests (`emulator --seed-apps`): the fixture APKs installed through an
// install session like any other (for every user, as `pm install` does), then data in every part
// a backup covers for user 0, and the states a lived-in phone has: a runtime grant, a shared-UID
// pair whose permissions live on the shared user (one USER_SET grant, one POLICY_FIXED grant a
// device policy made), and a package another party holds suspended. Apps already there are left alone.

const OLD = new Date('2023-03-14T15:09:26Z');
const OLDER = new Date('2021-07-01T08:00:00Z');
const BIG_FILE = 11 * 1024 * 1024;

/** the suspending package of the seeded suspension (Digital Wellbeing's app timers on a Pixel) */
export const SEED_SUSPENDER = 'com.google.android.apps.wellbeing';

export const SEED_APPS = [
  { pkg: 'com.example.notes', apks: ['notes.apk'], data: true },
  { pkg: 'com.example.gallery', apks: ['gallery-base.apk', 'gallery-config.xxhdpi.apk'], data: true },
  { pkg: 'com.example.sync', apks: ['sync.apk'], data: false },
  { pkg: 'com.example.sync.plugin', apks: ['sync-plugin.apk'], data: false },
] as const;

export async function seedApps(service: PackageService): Promise<void> {
  for (const app of SEED_APPS) {
    if (service.db.get(app.pkg)) continue;
    const id = await service.createSession({
      allowDowngrade: false,
      grantAll: false,
      inheritFrom: null,
      installer: null,
      user: USER_ALL,
    });
    for (const apk of app.apks) {
      const source = createReadStream(path.join(FIXTURES, apk));
      await service.write(id, apk, source, null).finally(() => source.destroy());
    }
    const record = await service.commit(id);
    await seedState(service, app.pkg);
    if (app.data)
      await seedData(service, app.pkg, record.appId, record.code.targetSdk, app.pkg === 'com.example.notes');
  }
}

async function seedState(service: PackageService, pkg: string): Promise<void> {
  const sensitive = NEW_RUNTIME_FLAGS;
  if (pkg === 'com.example.notes') await service.grant(pkg, 'android.permission.CAMERA', 0, true);
  if (pkg === 'com.example.sync') {
    await service.setPermissionState(pkg, 0, 'android.permission.CAMERA', {
      granted: true,
      flags: FLAG.USER_SET | sensitive,
    });
    await service.setPermissionState(pkg, 0, 'android.permission.READ_CONTACTS', {
      granted: true,
      flags: FLAG.POLICY_FIXED | sensitive,
    });
  }
  if (pkg === 'com.example.sync.plugin') await service.suspendAs(pkg, 0, SEED_SUSPENDER);
}

async function seedData(service: PackageService, pkg: string, appId: number, targetSdk: number, big: boolean) {
  const { phone, profile } = service;
  const uid = uidOf(0, appId);
  const w = new Writer(phone, uid, uid);
  const ce = ceDir(0, pkg);
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

  const cache = new Writer(phone, uid, cacheGidOf(0, appId));
  await cache.file(`${ce}/cache/thumbnail.tmp`, randomBytes(4096), 0o600);
  await cache.file(`${ce}/code_cache/startup.prof`, randomBytes(512), 0o600);
  await cache.file(`${deDir(0, pkg)}/cache/de-cache.tmp`, 'transient\n', 0o600);

  const de = deDir(0, pkg);
  await w.dir(`${de}/files`, 0o771);
  await w.file(`${de}/files/boot-state.txt`, 'direct boot ready\n', 0o600, OLDER);
  await w.dir(`${de}/shared_prefs`, 0o771);
  await w.file(`${de}/shared_prefs/alarms.xml`, prefs(pkg), 0o660);

  await createExternalDirs(phone, profile, 0, pkg, uid);
  const dataDirOwner = externalOwner(profile, 'data', uid);
  const data = new Writer(phone, dataDirOwner.uid, dataDirOwner.gid);
  const dataFile = externalFileOwner(profile, 'data', uid, 0o660);
  await data.dir(`${externalDir(0, pkg)}/files`, dataDirOwner.mode);
  await data.dir(`${externalDir(0, pkg)}/files/exports`, dataDirOwner.mode);
  await data.file(`${externalDir(0, pkg)}/files/exports/export-1.csv`, 'id,title\n1,Buy pie\n', dataFile.mode, OLD);
  const obbFile = externalFileOwner(profile, 'obb', uid, 0o660);
  await new Writer(phone, obbFile.uid, obbFile.gid).file(
    `${obbDir(0, pkg)}/main.1.${pkg}.obb`,
    randomBytes(64 * 1024),
    obbFile.mode,
    OLDER,
  );

  // the work profile's copy has data of its own, which a backup of user 0 must not pick up
  const work = new Writer(phone, uidOf(10, appId), uidOf(10, appId));
  await work.dir(`${ceDir(10, pkg)}/files`, 0o771);
  await work.file(`${ceDir(10, pkg)}/files/work-profile.txt`, 'work profile data\n', 0o600, OLD);

  // what the app writes carries its process's context (app_data_file with its MLS categories)
  for (const user of [0, 10]) {
    for (const dir of [ceDir(user, pkg), deDir(user, pkg)])
      await labelAppData(phone, dir, uidOf(user, appId), user, targetSdk);
  }
}

const prefs = (pkg: string) =>
  `<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n    <string name="owner">${pkg}</string>\n    <boolean name="first_run" value="false" />\n</map>\n`;
