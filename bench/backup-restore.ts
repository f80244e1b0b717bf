import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { writeAppData } from './app-data.ts';

// BackupApp and RecoverApp of one large app, end to end through separate processes (an
// emulated phone, the service with its embedded worker, the SDK client), next to the raw
// pipeline `adb exec-out tar | zstd -3 > file` on the same data in the same run. The service's
// peak RSS is its kernel high-water mark (VmHWM), so nothing between samples is missed.

const BIN = join(import.meta.dirname, '..', 'bin', 'cloudphone-backup.js');
const PKG = 'com.example.notes';
const ENDPOINT = 'oss-bench.local';

export async function run(): Promise<string> {
  const mb = Number(process.env.BENCH_APP_MB ?? 1024);
  const dir = mkdtempSync(join(tmpdir(), 'cpb-bench-'));
  const procs: ChildProcess[] = [];
  const adbPort = await freePort();
  try {
    const phonePort = await freePort();
    const phone = join(dir, 'phone');
    const emu = cli(['emulator', '--root', phone, '--port', String(phonePort), '--seed-apps'], procs);
    await waitOutput(emu, /listening on/);
    const ce = join(phone, 'data/user/0', PKG);
    const uid = statSync(ce).uid;
    const bytes = writeAppData(join(ce, 'files', 'bench'), mb * 1024 * 1024, uid);
    const sourceBytes = Number(execFileSync('du', ['-sb', '--apparent-size', ce], { encoding: 'utf8' }).split('\t')[0]);

    const adb = (...args: string[]) => execFileSync('adb', ['-P', String(adbPort), ...args], { encoding: 'utf8' });
    adb('connect', `127.0.0.1:${phonePort}`);
    const rawStart = performance.now();
    execFileSync('sh', [
      '-c',
      `adb -P ${adbPort} -s 127.0.0.1:${phonePort} exec-out 'tar -cf - -C /data/user/0/${PKG} .' | zstd -3 -q > ${dir}/raw.tar.zst`,
    ]);
    const rawSeconds = (performance.now() - rawStart) / 1000;

    const data = join(dir, 'data');
    const key = JSON.parse(
      execFileSync('node', [BIN, 'keys', 'create', '--json', '--data-dir', data], { encoding: 'utf8' }),
    );
    execFileSync('node', [
      BIN,
      'instances',
      'add',
      '--id',
      'acp-bench',
      '--adb',
      `127.0.0.1:${phonePort}`,
      '--data-dir',
      data,
    ]);
    const apiPort = await freePort();
    const serve = cli(['serve', '--data-dir', data, '--port', String(apiPort)], procs);
    await waitOutput(serve, /API on/);
    const rpc = new RPCClient({
      endpoint: `http://127.0.0.1:${apiPort}`,
      apiVersion: '2023-09-30',
      accessKeyId: key.AccessKeyId,
      accessKeySecret: key.AccessKeySecret,
    });
    const cpuBefore = [cpuSeconds(emu), cpuSeconds(serve)];
    const backupStart = performance.now();
    const backup = await rpc.request<{ TaskId: string; Data: { BackupFileId: string }[] }>('BackupApp', {
      AndroidInstanceIdList: ['acp-bench'],
      SourceAppList: [PKG],
      BackupFilePath: 'oss://bench/apps/',
      UploadEndpoint: ENDPOINT,
    });
    await settle(rpc, backup.TaskId);
    const backupSeconds = (performance.now() - backupStart) / 1000;
    const [emuCpu, serveCpu] = [cpuSeconds(emu) - (cpuBefore[0] ?? 0), cpuSeconds(serve) - (cpuBefore[1] ?? 0)];
    const backupRss = peakRss(serve);
    const fileId = backup.Data[0]?.BackupFileId;
    const recoverStart = performance.now();
    const recover = await rpc.request<{ TaskId: string }>('RecoverApp', {
      BackupFileId: fileId,
      AndroidInstanceIdList: ['acp-bench'],
      UploadType: 'OSS',
    });
    await settle(rpc, recover.TaskId);
    const recoverSeconds = (performance.now() - recoverStart) / 1000;
    const mbps = (s: number) => (sourceBytes / 1e6 / s).toFixed(0);
    return [
      `## Backup and restore of one ${(bytes / 2 ** 20).toFixed(0)} MiB app (bench/backup-restore.ts)`,
      '',
      `App data ${(sourceBytes / 1e6).toFixed(0)} MB (du of the CE folder); MB/s = that size / wall time.`,
      'Phone, service and client run as separate processes on this machine.',
      '',
      '| Pipeline | Seconds | MB/s | vs raw | Service peak RSS |',
      '|---|---|---|---|---|',
      `| raw \`adb exec-out 'tar -cf - …' \\| zstd -3 > file\` | ${rawSeconds.toFixed(1)} | ${mbps(rawSeconds)} | 1.00 | — |`,
      `| BackupApp (call → backup file AVAILABLE, fs store) | ${backupSeconds.toFixed(1)} | ${mbps(backupSeconds)} | ${(rawSeconds / backupSeconds).toFixed(2)} | ${backupRss} MB |`,
      `| RecoverApp onto the same phone (archive read once: verified as it stages, then install + swap) | ${recoverSeconds.toFixed(1)} | ${mbps(recoverSeconds)} | ${(rawSeconds / recoverSeconds).toFixed(2)} | ${peakRss(serve)} MB (whole run) |`,
      '',
      `CPU during BackupApp (seconds, process + its finished children): phone ${emuCpu.toFixed(1)} (adbd, sandboxed tar), service ${serveCpu.toFixed(1)} (ADB client, tar parsing, SHA-256, zstd child), on ${cpus().length} cores over ${backupSeconds.toFixed(1)} s of wall time.`,
      '',
    ].join('\n');
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    try {
      execFileSync('adb', ['-P', String(adbPort), 'kill-server'], { stdio: 'ignore' });
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function cli(args: string[], procs: ChildProcess[]): ChildProcess {
  const p = spawn('node', [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  return p;
}

export function waitOutput(p: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (pattern.test(out)) resolve();
    });
    p.once('exit', (code) => reject(new Error(`process exited (${code}) before printing ${pattern}: ${out}`)));
  });
}

async function settle(rpc: RPCClient, taskId: string): Promise<void> {
  for (;;) {
    const body = await rpc.request<{ Data: { TaskStatus: string; ErrorMsg: string }[] }>('DescribeTasks', {
      TaskIds: [taskId],
    });
    const t = body.Data[0];
    if (t?.TaskStatus === 'Finished') return;
    if (t?.TaskStatus === 'Failed' || t?.TaskStatus === 'PartFinished') throw new Error(`task failed: ${t.ErrorMsg}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** user + system CPU of a process and its reaped children, from /proc/<pid>/stat */
function cpuSeconds(p: ChildProcess): number {
  const fields = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = [11, 12, 13, 14].reduce((n, i) => n + Number(fields[i] ?? 0), 0);
  return ticks / 100;
}

function peakRss(p: ChildProcess): string {
  const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return (kb / 1024).toFixed(0);
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(await run());
