import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startFaultProxy } from '../test/helpers/fault-proxy.ts';
import { startMoto } from '../test/helpers/moto.ts';
import { writeAppData } from './app-data.ts';
import { cli, freePort, registerPhones, settleTask, type TaskRow, waitOutput } from './processes.ts';

// One RecoverApp from one backup onto 10 emulated phones, through the s3 driver against moto with
// the fault proxy in between counting every request and the bytes each answer carried, so the
// reads per target are what the store really served (each target reads the archive itself, once).

const PKG = 'com.example.notes';
const ENDPOINT = 'oss-fanout.local';
const BUCKET = 'fanout';

export async function run(): Promise<string> {
  const targets = Number(process.env.BENCH_FANOUT_TARGETS ?? 10);
  const mb = Number(process.env.BENCH_FANOUT_MB ?? 64);
  // the worker's default (config.ts WORKER_DEFAULTS), named so the report states it
  const concurrency = Number(process.env.BENCH_FANOUT_CONCURRENCY ?? 4);
  const dir = mkdtempSync(join(tmpdir(), 'cpb-fanout-'));
  const procs: ChildProcess[] = [];
  const moto = await startMoto();
  const proxy = await startFaultProxy(moto.url);
  try {
    const admin = new S3Client({
      endpoint: moto.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: moto.credentials,
    });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    admin.destroy();
    const data = join(dir, 'data');
    const ports: number[] = [];
    for (let i = 0; i < targets; i++) {
      const port = await freePort();
      const emu = cli(['emulator', '--root', join(dir, `phone${i}`), '--port', String(port), '--seed-apps'], procs);
      await waitOutput(emu, /listening on/);
      ports.push(port);
    }
    const ce = join(dir, 'phone0', 'data/user/0', PKG);
    const bytes = writeAppData(join(ce, 'files', 'bench'), mb * 2 ** 20, statSync(ce).uid);
    const ids = ports.map((_, i) => `acp-fan${i}`);
    const key = registerPhones(
      data,
      ports.map((port, i) => ({ id: ids[i] as string, port })),
    );
    // named one by one: the S3 client marks the credentials object it was given
    const { accessKeyId, secretAccessKey } = moto.credentials;
    const s3 = {
      driver: 's3',
      url: proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId,
      secretAccessKey,
    };
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ storage: { endpoints: { [ENDPOINT]: s3 } } }));
    const apiPort = await freePort();
    const serve = cli(
      [
        'serve',
        '--data-dir',
        data,
        '--config',
        config,
        '--port',
        String(apiPort),
        '--concurrency',
        String(concurrency),
      ],
      procs,
    );
    await waitOutput(serve, /API on/);
    const rpc = new RPCClient({
      endpoint: `http://127.0.0.1:${apiPort}`,
      apiVersion: '2023-09-30',
      accessKeyId: key.AccessKeyId,
      accessKeySecret: key.AccessKeySecret,
    });
    const backup = await rpc.request<{ TaskId: string; Data: { BackupFileId: string }[] }>('BackupApp', {
      AndroidInstanceIdList: [ids[0]],
      SourceAppList: [PKG],
      BackupFilePath: `oss://${BUCKET}/fanout/`,
      UploadEndpoint: ENDPOINT,
    });
    const made = await settleTask(rpc, backup.TaskId);
    if (made.TaskStatus !== 'Finished') throw new Error(`the backup ended ${made.TaskStatus}: ${made.ErrorMsg}`);
    const fileId = backup.Data[0]?.BackupFileId;
    const files = await rpc.request<{ Data: { FileSize: number }[] }>('DescribeBackupFiles', { BackupFileId: fileId });
    const archiveBytes = Number(files.Data[0]?.FileSize);
    const from = proxy.log.length;
    const start = performance.now();
    const recover = await rpc.request<{ TaskId: string }>('RecoverApp', {
      BackupFileId: fileId,
      AndroidInstanceIdList: ids,
      UploadType: 'OSS',
    });
    const batch = await settleTask(rpc, recover.TaskId);
    const seconds = (performance.now() - start) / 1000;
    const reads = proxy.log.slice(from).filter((r) => r.op === 'GetObject');
    const archiveReads = reads.filter((r) => !r.path.endsWith('.json'));
    const sidecarReads = reads.filter((r) => r.path.endsWith('.json'));
    const sum = (rs: typeof reads) => rs.reduce((n, r) => n + r.responseBytes, 0);
    const children = await rpc.request<{ Data: TaskRow[] }>('DescribeTasks', {
      ParentTaskId: recover.TaskId,
      MaxResults: 100,
    });
    const MB = (n: number) => (n / 1e6).toFixed(1);
    const rows = [...children.Data]
      .sort((a, b) => String(a.InstanceId).localeCompare(String(b.InstanceId), 'en', { numeric: true }))
      .map((t) => {
        const s = (Date.parse(String(t.FinishTime)) - Date.parse(String(t.StartTime))) / 1000;
        return `| ${t.InstanceId} | ${t.TaskStatus} | ${Number.isFinite(s) ? s.toFixed(0) : '—'} | ${t.Attempts} | ${t.ErrorCode || '—'} |`;
      });
    return [
      `## RecoverApp of one backup onto ${targets} phones at once (bench/restore-fanout.ts)`,
      '',
      `An app of ${(bytes / 2 ** 20).toFixed(0)} MiB backed up from acp-fan0 into an s3 store (moto behind a counting proxy), then one RecoverApp naming all ${targets} phones (acp-fan0 itself included); the embedded worker runs ${concurrency} tasks at once (\`worker.concurrency\`).`,
      '',
      `- wall time, call → batch ${batch.TaskStatus}: ${seconds.toFixed(1)} s (${batch.SuccessChildCount} finished, ${batch.FailedChildCount} failed)`,
      `- archive ${MB(archiveBytes)} MB; read from the store for the whole batch: ${archiveReads.length} GETs of it, ${MB(sum(archiveReads))} MB, plus ${sidecarReads.length} sidecar GETs (${(sum(sidecarReads) / 1e3).toFixed(1)} kB)`,
      `- per target: ${(archiveReads.length / targets).toFixed(1)} GETs, ${MB(sum(archiveReads) / targets)} MB = ${(sum(archiveReads) / targets / archiveBytes).toFixed(2)} × the archive${archiveReads.length === targets ? ' (each target reads it once, verifying as it stages)' : ''}`,
      '',
      '| Target | Status | Seconds (start → finish) | Attempts | ErrorCode |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await proxy.close();
    await moto.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
