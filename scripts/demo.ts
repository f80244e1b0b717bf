// `npm run demo`: the whole service in a minute, in a throwaway folder. Two emulated phones with
// the sample apps, the service on a free port, both phones backed up, one phone's apps restored
// onto the other, the restored data compared file by file, everything removed at the end. It
// goes through the API and the CLI's own progress display, as an operator would.

import { chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { apiClient, listParams } from '../src/cli/api-client.ts';
import { detailsFrom, watchTasks } from '../src/cli/progress/watch-tasks.ts';
import { loadConfig } from '../src/config.ts';
import { reportedColumns } from '../src/db/instances-repo.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import { type Emulator, startEmulator } from '../src/emulator/emulator.ts';
import { type Service, startService } from '../src/service.ts';
import { compareApps } from './demo-verify.ts';

const APPS = ['com.example.notes', 'com.example.gallery'];
const IDS = ['acp-demo-a', 'acp-demo-b'];
const NOTE = 'data/user/0/com.example.notes/files';
const say = (line: string) => process.stdout.write(`${line}\n`);

/** writes a file into an app's folder as the app would (owned by its uid) */
function writeAsApp(phoneRoot: string, dir: string, name: string, text: string): void {
  const { uid, gid } = statSync(join(phoneRoot, dir));
  writeFileSync(join(phoneRoot, dir, name), text, { mode: 0o600 });
  chownSync(join(phoneRoot, dir, name), uid, gid);
}

async function demo(dir: string, phones: Emulator[], services: Service[]): Promise<void> {
  say(`cloudphone-backup demo, in ${dir} (removed at the end)`);
  for (const id of IDS) phones.push(await startEmulator({ root: join(dir, id), port: 0, seedApps: true }));
  const where = IDS.map((id, i) => `${id} on ${phones[i]?.address}`).join(', ');
  say(`1. two emulated phones with the sample apps: ${where}`);
  const config = loadConfig({ flags: { dataDir: join(dir, 'data'), port: '0' }, env: {} });
  const service = await startService(config, pino({ level: 'silent' }), { api: true, worker: true });
  services.push(service);
  const key = await service.db.accounts.createKey('default');
  process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = key.accessKeyId;
  process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = key.accessKeySecret;
  say(`2. the service on ${service.url} (SQLite and a local object store under ${config.dataDir})`);
  for (const [i, phone] of phones.entries()) {
    const device = await connectAdb(phone.address, { keyDir: config.adb.keyDir });
    const facts = await device.properties().finally(() => device.close());
    await service.db.instances.add({
      id: IDS[i] as string,
      account: 'default',
      name: `demo phone ${i + 1}`,
      adbAddress: phone.address,
      imageId: 'img-demo',
      imageVersion: '1',
      imageType: 'custom',
      instanceType: 'cpm.local.1',
      instanceGroupId: null,
      endUserId: null,
      ...reportedColumns(facts),
    });
  }
  const [a, b] = IDS.map((id) => join(dir, id)) as [string, string];
  const note = `written on ${IDS[0]} at ${new Date().toISOString()}\n`;
  writeAsApp(a, NOTE, 'demo-note.txt', note);
  writeAsApp(b, NOTE, 'only-on-b.txt', 'the restore replaces this app data\n');
  say(`3. registered both; a note written into ${APPS[0]} on ${IDS[0]}, another on ${IDS[1]}`);

  const client = apiClient({ endpoint: service.url, signature: 'v3' });
  say(`4. BackupApp of ${APPS.join(', ')} on ${IDS.join(', ')}`);
  const backup = await client.call('BackupApp', {
    ...listParams('AndroidInstanceIdList', IDS),
    ...listParams('SourceAppList', APPS),
    BackupFilePath: 'oss://demo-bucket/backups/',
    UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
  });
  if (!(await watchTasks(client, String(backup.TaskId), { details: detailsFrom(backup), plainEveryMs: 1_000 }))) {
    throw new Error('the backup did not finish');
  }
  const items = backup.Data as Array<{ AndroidInstanceId: string; BackupFileId: string }>;
  const fileOfA = items.find((it) => it.AndroidInstanceId === IDS[0])?.BackupFileId ?? '';

  say(`5. RecoverApp of ${IDS[0]}'s backup ${fileOfA} onto ${IDS[1]}`);
  const restore = await client.call('RecoverApp', {
    BackupFileId: fileOfA,
    UploadType: 'OSS',
    ...listParams('AndroidInstanceIdList', [IDS[1] as string]),
  });
  if (!(await watchTasks(client, String(restore.TaskId), { plainEveryMs: 1_000 })))
    throw new Error('the restore did not finish');

  const compared = compareApps(a, b, APPS);
  if (compared.differences.length) {
    throw new Error(`restored data differs:\n  ${compared.differences.slice(0, 10).join('\n  ')}`);
  }
  const restoredNote = compared.read(b, `${NOTE}/demo-note.txt`);
  if (restoredNote !== note) throw new Error(`demo-note.txt on ${IDS[1]} is ${JSON.stringify(restoredNote)}`);
  if (compared.read(b, `${NOTE}/only-on-b.txt`) !== null) throw new Error('only-on-b.txt survived the restore');
  say(
    `6. verified: ${APPS.length} apps on ${IDS[1]} match ${IDS[0]}'s, ${compared.entries} entries (${compared.bytes} bytes of files) compared, the note restored, ${IDS[1]}'s own note gone`,
  );
}

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'cpb-demo-'));
const phones: Emulator[] = [];
const services: Service[] = [];
let failed = false;
try {
  await demo(dir, phones, services);
} catch (err) {
  failed = true;
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
} finally {
  for (const s of services) await s.close().catch(() => undefined);
  for (const p of phones) await p.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
say(`demo ${failed ? 'failed' : 'finished'} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${dir} removed`);
process.exit(failed ? 1 : 0);
