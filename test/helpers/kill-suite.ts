import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/testing.ts';
import { type AppTrees, appTrees, changeAppData, stagingLeftovers } from './app-trees.ts';
import { TASK_ERROR_CODES } from './catalogue.ts';
import { type CliProcess, stopAll } from './cli-process.ts';
import { ENDPOINT, type FaultStack, LEASE_MS, STALL_MS, startFaultStack, stopService } from './fault-stack.ts';
import { type InvariantScope, settleInvariants, uploadsInProgress } from './invariants.ts';
import { type Row, waitFor, waitTask } from './wait.ts';
import { within } from './within.ts';

// The crash fault suite: the service, a child process, is SIGKILLed at each step of a backup and
// a restore (by a failpoint it reaches, src/failpoints.ts, or by the test while the archive is
// being uploaded), then a fresh process is started on the same data folder and database. The
// task must settle, Finished by a re-run or Failed with a catalogue code, within a bound set by
// the lease, and the invariants of test/helpers/invariants.ts must hold; an interrupted restore
// leaves its target either as it was or fully restored.
// One file per backend (test/fault-kill*.test.ts), so the two run side by side.

const APPS = ['com.example.notes', 'com.example.gallery'];
/** the dead worker's lease runs out (one lease), a poll claims the task, and it runs again */
const SETTLE_BOUND_MS = 3 * LEASE_MS + 20_000;
/** a dead put's temp file is swept once it is 2 × stallMs old, by a reconciler that runs every lease */
const INVARIANT_BOUND_MS = 2 * STALL_MS + 2 * LEASE_MS + 5_000;
/** the test kills the service itself once this much of the archive reached the store */
const UPLOADING = 'backup:uploading';
const UPLOADED_BYTES = 512 * 1024;

const BACKUP_POINTS = ['backup:reading-phone', UPLOADING, 'backup:after-upload', 'backup:after-sidecar'];
const RESTORE_POINTS = ['restore:staging', 'restore:applying', 'restore:swapping'];

export function killSuite(backend: Backend): void {
  afterAll(stopAll);
  describe(`SIGKILL of the service on ${backend}`, () => suite(backend));
}

function suite(backend: Backend): void {
  let s: FaultStack;
  let root: string;
  let source: AppTrees;
  let scope: InvariantScope;
  let restoresKilled = 0;

  beforeAll(async () => {
    s = await startFaultStack({ backend, phones: 1 });
    root = s.phones[0]?.phone.root as string;
    source = appTrees(root, APPS);
    scope = { call: s.call, db: s.db, dataDir: s.dataDir, phones: [s.phones[0]?.address as string], apps: APPS };
  }, 60_000);
  afterAll(() => s?.close());

  /** crashes the service at `point` while `start` runs a task, restarts it, and checks the aftermath */
  async function crash(point: string, start: () => Promise<string>): Promise<Row> {
    const armed = await s.serve(point === UPLOADING ? [] : [point]);
    const taskId = await start();
    if (point === UPLOADING) await killWhileUploading(armed);
    const exit = await within(armed.exited, 30_000, () => `the service did not die at ${point}:\n${armed.output()}`);
    expect(exit, armed.output()).toEqual({ code: null, signal: 'SIGKILL' });
    const restarted = Date.now();
    await s.serve();
    const row = await waitTask(s.call, taskId, SETTLE_BOUND_MS);
    const settledMs = Date.now() - restarted;
    expect(['Finished', 'Failed']).toContain(row.TaskStatus);
    if (row.TaskStatus === 'Failed') expect(TASK_ERROR_CODES).toContain(row.ErrorCode);
    // the killed run counts: what finished is a re-run
    expect(Number(row.Attempts)).toBeGreaterThanOrEqual(2);
    expect(await settleInvariants(scope, INVARIANT_BOUND_MS)).toEqual([]);
    console.info(
      `${backend} ${point}: ${row.TaskStatus} ${row.ErrorCode} attempt ${row.Attempts}, ${settledMs} ms after the restart`,
    );
    await stopService(s.service);
    return row;
  }

  async function killWhileUploading(service: CliProcess) {
    await waitFor(async () => uploadsInProgress(s.dataDir).some((size) => size >= UPLOADED_BYTES), 30_000);
    service.proc.kill('SIGKILL');
  }

  it.each(BACKUP_POINTS)(
    'during a backup, at %s',
    async (point) => {
      const row = await crash(point, async () => {
        const res = await s.call('BackupApp', {
          AndroidInstanceIdList: [s.ids[0]],
          SourceAppList: APPS,
          BackupFilePath: 'oss://faults/kill/',
          UploadEndpoint: ENDPOINT,
        });
        return String((res.Data as Row[])[0]?.TaskId);
      });
      const fileId = JSON.parse(String(row.Param)).backupFileId as string;
      const file = await s.db.backupFiles.get('default', fileId);
      expect(file?.status).toBe(row.TaskStatus === 'Finished' ? 'AVAILABLE' : 'BACKUP_FAILED');
      expect(appTrees(root, APPS)).toEqual(source);
    },
    90_000,
  );

  it.each(RESTORE_POINTS)(
    'during a restore, at %s',
    async (point) => {
      const [file] = await s.db.backupFiles.withStatus(['AVAILABLE']);
      if (!file) throw new Error('no AVAILABLE backup to restore: the backup experiments made none');
      changeAppData(root, APPS[0] as string, point.replace(':', '-'));
      const before = appTrees(root, APPS);
      expect(before).not.toEqual(source); // else a restore that did nothing would pass as complete
      const row = await crash(point, async () => {
        const res = await s.call('RecoverApp', {
          BackupFileId: file.id,
          AndroidInstanceIdList: [s.ids[0]],
          UploadType: 'OSS',
        });
        return String((res.Data as Row[])[0]?.TaskId);
      });
      expect(appTrees(root, APPS)).toEqual(row.TaskStatus === 'Finished' ? source : before);
      restoresKilled++;
    },
    90_000,
  );

  // the re-run stages under a new token: what the killed run left on the phone (staging folders,
  // and mid-swap the target's own folders moved aside) must have been undone by the next task
  it('the killed restores leave no staging folder on the phone', () => {
    expect(restoresKilled, 'the restore experiments did not all run').toBe(RESTORE_POINTS.length);
    expect(stagingLeftovers(root)).toEqual([]);
  });
}
