import { createHash } from 'node:crypto';
import { createReadStream, type Dirent, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { verifyArchive } from '../../src/backup/restore/verify-archive.ts';
import { readSidecar, sidecarKey } from '../../src/backup/sidecar.ts';
import { BACKUP_FILE_STATUSES, type BackupFile } from '../../src/db/backup-files-repo.ts';
import type { Db } from '../../src/db/database.ts';
import { connectAdb } from '../../src/devices/adb/connect.ts';
import { objectStoreFor } from '../../src/storage/endpoints.ts';
import { TEMP_PREFIX } from '../../src/storage/object-key.ts';
import type { Call } from './clients.ts';
import type { Row } from './wait.ts';

// What must hold after any crash once the service has recovered (the fault suite's oracle):
// no instance or backup file in a transient status, every AVAILABLE backup file's object there and
// matching the digest and size the database and its sidecar record and passing the restore's
// verify pass, every stored object belonging to a backup file that keeps it, no temp file of a
// dead put left, and no backed-up app left suspended on its phone. Each check reports what it saw,
// so an empty list is a statement about every record and every object, never about nothing.

export interface InvariantScope {
  call: Call;
  db: Db;
  dataDir: string;
  /** phones (ADB addresses) and the apps the suite backs up there */
  phones: string[];
  apps: string[];
}

const TRANSIENT = new Set(['BACKUPING', 'RECOVERING']);
/** statuses whose backup file keeps its object (a failed backup's object is removed) */
const KEEPS_OBJECT = new Set(['AVAILABLE', 'RECOVERING', 'RECOVERY_FAILED']);
const verified = new Map<string, string>(); // backup file id → the digest that passed verification

export async function checkInvariants(s: InvariantScope): Promise<string[]> {
  const problems: string[] = [];
  const unsettled = await s.call('DescribeTasks', { TaskStatuses: ['Waiting', 'Processing'], MaxResults: 100 });
  for (const t of unsettled.Data as Row[]) problems.push(`task ${t.TaskId} is still ${t.TaskStatus}`);
  const instances = (await s.call('DescribeAndroidInstances', { MaxResults: 100 })).InstanceModel as Row[];
  if (instances.length === 0) problems.push('DescribeAndroidInstances lists no instance');
  for (const i of instances) {
    if (TRANSIENT.has(String(i.AndroidInstanceStatus))) {
      problems.push(`instance ${i.AndroidInstanceId} is ${i.AndroidInstanceStatus}`);
    }
  }
  const files = await s.db.backupFiles.withStatus([...BACKUP_FILE_STATUSES]);
  for (const f of files) {
    if (TRANSIENT.has(f.status)) problems.push(`backup file ${f.id} is ${f.status}`);
    if (KEEPS_OBJECT.has(f.status)) problems.push(...(await checkObject(s, f)));
  }
  problems.push(...strayObjects(s.dataDir, files));
  problems.push(...(await suspendedApps(s)));
  return problems;
}

/** polls until every invariant holds or `timeoutMs` passed; returns what still fails */
export async function settleInvariants(s: InvariantScope, timeoutMs: number): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const problems = await checkInvariants(s);
    if (problems.length === 0 || Date.now() > until) return problems;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function checkObject(s: InvariantScope, f: BackupFile): Promise<string[]> {
  const path = objectPath(s.dataDir, f.endpoint, f.bucket, f.objectKey);
  let digest: { sha256: string; size: number };
  try {
    digest = await hashFile(path);
  } catch {
    return [`backup file ${f.id} (${f.status}) points at a missing object ${f.objectKey}`];
  }
  const problems: string[] = [];
  if (digest.sha256 !== f.sha256 || digest.size !== f.size) {
    problems.push(`backup file ${f.id}: object ${digest.sha256}/${digest.size}, record ${f.sha256}/${f.size}`);
  }
  if (verified.get(f.id) === digest.sha256) return problems;
  const store = objectStoreFor(f.endpoint, { default: { driver: 'fs' }, endpoints: {} }, s.dataDir);
  try {
    const sidecar = await readSidecar(store, f.bucket, f.objectKey);
    if (sidecar.sha256 !== digest.sha256 || sidecar.size !== digest.size) {
      problems.push(`backup file ${f.id}: sidecar ${sidecar.sha256}/${sidecar.size}, object ${digest.sha256}`);
    }
    const target = sidecar.manifest.instance;
    await verifyArchive(
      store,
      { bucket: f.bucket, key: f.objectKey },
      sidecar,
      target,
      () => {},
      AbortSignal.timeout(60_000),
    );
    if (problems.length === 0) verified.set(f.id, digest.sha256);
  } catch (err) {
    problems.push(`backup file ${f.id} fails verification: ${(err as Error).message}`);
  }
  return problems;
}

/** every file under <dataDir>/objects is a kept backup file's object or sidecar; no temp file */
function strayObjects(dataDir: string, files: BackupFile[]): string[] {
  const owned = new Map<string, string>();
  for (const f of files) {
    const path = objectPath(dataDir, f.endpoint, f.bucket, f.objectKey);
    owned.set(path, f.status);
    owned.set(objectPath(dataDir, f.endpoint, f.bucket, sidecarKey(f.objectKey)), f.status);
  }
  const root = join(dataDir, 'objects');
  const problems: string[] = [];
  for (const path of walkFiles(root)) {
    const rel = relative(root, path);
    const status = owned.get(path);
    if (path.split(sep).some((n) => n.startsWith(TEMP_PREFIX))) problems.push(`temp file left: ${rel}`);
    else if (!status) problems.push(`object without a backup file: ${rel}`);
    else if (!KEEPS_OBJECT.has(status)) problems.push(`object of a ${status} backup file: ${rel}`);
  }
  return problems;
}

async function suspendedApps(s: InvariantScope): Promise<string[]> {
  const problems: string[] = [];
  for (const address of s.phones) {
    const device = await connectAdb(address, { keyDir: join(s.dataDir, 'adb') });
    try {
      for (const pkg of s.apps) {
        const info = await device.packageInfo(pkg);
        if (!info) problems.push(`${pkg} is not installed on ${address}`);
        else if (info.suspended) problems.push(`${pkg} is left suspended on ${address} by ${info.suspendedBy}`);
      }
    } finally {
      await device.close();
    }
  }
  return problems;
}

/** sizes of the temp files of the puts under way (or dead) in the fs store under dataDir */
export function uploadsInProgress(dataDir: string): number[] {
  const sizes: number[] = [];
  for (const path of walkFiles(join(dataDir, 'objects'))) {
    const size = basename(path).startsWith(TEMP_PREFIX) ? statSync(path, { throwIfNoEntry: false })?.size : undefined;
    if (size !== undefined) sizes.push(size);
  }
  return sizes;
}

export const objectPath = (dataDir: string, endpoint: string, bucket: string, key: string) =>
  join(dataDir, 'objects', endpoint, bucket, ...key.split('/'));

function* walkFiles(dir: string): Generator<string> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* walkFiles(path);
    else yield path;
  }
}

async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
