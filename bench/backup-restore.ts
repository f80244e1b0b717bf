import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { writeAppData } from './app-data.ts';
import { sampleCpu } from './fleet-cpu.ts';
import {
  adbServerPid,
  type Cpu,
  cli,
  cpu,
  cpuSince,
  freePort,
  peakRss,
  reapedCli,
  registerPhones,
  settleTask,
  stopAll,
  timedShell,
  waitOutput,
} from './processes.ts';

// BackupApp and RecoverApp of one app of 0 MB (the seeded app alone: the per-task fixed cost),
// 10 MB, 100 MB and 1 GiB, end to end through separate processes (two emulated phones, the
// service with its embedded worker, the SDK client), each next to the raw pipelines on the same
// data in the same run: `adb exec-out 'tar -cf - -C DIR .' | zstd -3 > file` to back up and
// `zstd -dc file | adb exec-in 'tar -xf - -C DIR'` to restore onto the other phone.

const PKG = 'com.example.notes';
const CE = `/data/user/0/${PKG}`;
const ENDPOINT = 'oss-bench.local';

interface Row {
  mib: number;
  sourceBytes: number;
  raw: { backup: number; restore: number; backupCpu: number; backupPhone: number; restorePhone: number; zst: number };
  backup: { seconds: number; service: Cpu; phone: number; archive: number };
  recover: { seconds: number; service: Cpu; phone: number };
  rss: number;
}

export async function run(): Promise<string> {
  const sizes = (process.env.BENCH_APP_SIZES ?? '0,10,100,1024').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'cpb-bench-'));
  const procs: ChildProcess[] = [];
  const adbPort = await freePort();
  try {
    const phones = await Promise.all(['src', 'dst'].map((name) => startPhone(join(dir, name), procs)));
    const [src, dst] = phones as [Phone, Phone];
    const adb = (...args: string[]) => execFileSync('adb', ['-P', String(adbPort), ...args], { encoding: 'utf8' });
    for (const p of phones) adb('connect', `127.0.0.1:${p.port}`);
    const adbServer = adbServerPid(adbPort);
    const data = join(dir, 'data');
    const key = registerPhones(data, [
      { id: 'acp-src', port: src.port },
      { id: 'acp-dst', port: dst.port },
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
    const rows: Row[] = [];
    for (const mib of sizes) {
      const ce = join(src.root, CE.slice(1));
      const bench = join(ce, 'files', 'bench');
      rmSync(bench, { recursive: true, force: true });
      if (mib > 0) writeAppData(bench, mib * 2 ** 20, statSync(ce).uid);
      const sourceBytes = Number(
        execFileSync('du', ['-sb', '--apparent-size', ce], { encoding: 'utf8' }).split('\t')[0],
      );
      const zst = join(dir, 'raw.tar.zst');
      const s = (p: Phone) => `adb -P ${adbPort} -s 127.0.0.1:${p.port}`;
      const adbBefore = cpu(adbServer);
      let phoneBefore = phoneCpu(src);
      const rawBackup = timedShell(`${s(src)} exec-out 'tar -cf - -C ${CE} .' | zstd -3 -q > ${zst}`);
      const adbCpu = cpuSince(adbBefore, cpu(adbServer)).self;
      const rawBackupPhone = phoneCpu(src) - phoneBefore;
      phoneBefore = phoneCpu(dst);
      const rawRestore = timedShell(`zstd -dc ${zst} | ${s(dst)} exec-in 'tar -xf - -C ${CE}'`);
      const rawRestorePhone = phoneCpu(dst) - phoneBefore;

      let serviceBefore = cpu(serve.pid);
      phoneBefore = phoneCpu(src);
      let start = performance.now();
      const backup = await rpc.request<{ TaskId: string; Data: { BackupFileId: string }[] }>('BackupApp', {
        AndroidInstanceIdList: ['acp-src'],
        SourceAppList: [PKG],
        BackupFilePath: 'oss://bench/apps/',
        UploadEndpoint: ENDPOINT,
      });
      await settle(rpc, backup.TaskId);
      const backupSeconds = (performance.now() - start) / 1000;
      const backupService = cpuSince(serviceBefore, cpu(serve.pid));
      const backupPhone = phoneCpu(src) - phoneBefore;
      const fileId = backup.Data[0]?.BackupFileId;
      const files = await rpc.request<{ Data: { FileSize: number }[] }>('DescribeBackupFiles', {
        BackupFileId: fileId,
      });

      serviceBefore = cpu(serve.pid);
      phoneBefore = phoneCpu(dst);
      start = performance.now();
      const recover = await rpc.request<{ TaskId: string }>('RecoverApp', {
        BackupFileId: fileId,
        AndroidInstanceIdList: ['acp-dst'],
        UploadType: 'OSS',
      });
      await settle(rpc, recover.TaskId);
      const recoverSeconds = (performance.now() - start) / 1000;
      const recoverPhone = phoneCpu(dst) - phoneBefore;
      rows.push({
        mib,
        sourceBytes,
        raw: {
          backup: rawBackup.seconds,
          restore: rawRestore.seconds,
          backupCpu: rawBackup.cpu + adbCpu,
          backupPhone: rawBackupPhone,
          restorePhone: rawRestorePhone,
          zst: statSync(zst).size,
        },
        backup: {
          seconds: backupSeconds,
          service: backupService,
          phone: backupPhone,
          archive: Number(files.Data[0]?.FileSize),
        },
        recover: {
          seconds: recoverSeconds,
          service: cpuSince(serviceBefore, cpu(serve.pid)),
          phone: recoverPhone,
        },
        rss: peakRss(serve.pid),
      });
      process.stderr.write(
        `  ${mib} MiB: backup ${backupSeconds.toFixed(1)} s, recover ${recoverSeconds.toFixed(1)} s\n`,
      );
    }
    return report(rows);
  } finally {
    await stopAll(procs, dir, adbPort);
  }
}

function report(rows: Row[]): string {
  const f = (n: number, d = 1) => n.toFixed(d);
  const gb = (r: Row) => r.sourceBytes / 1e9;
  const lines = rows.map((r) => {
    const { raw, backup, recover } = r;
    return `| ${r.mib} MiB (${f(r.sourceBytes / 1e6, 0)} MB) | ${f(raw.backup)} | ${f(backup.seconds)} | **${f(raw.backup / backup.seconds, 2)}** | ${f(raw.restore)} | ${f(recover.seconds)} | **${f(raw.restore / recover.seconds, 2)}** | ${f((backup.archive / raw.zst - 1) * 100)} % | ${f(r.rss, 0)} MB |`;
  });
  const big = rows.at(-1) as Row;
  const svc = big.backup.service;
  const perGb = (n: number) => f(n / gb(big), 1);
  const small = rows[0] as Row;
  return [
    '## Backup and restore of one app, next to the raw pipelines (bench/backup-restore.ts)',
    '',
    'Two emulated phones, the service (`serve`, embedded worker, SQLite, fs store) and the SDK client run as separate processes on this machine.',
    `The app is ${PKG} with bench/app-data.ts's data added to its CE folder (0 MiB: the seeded app alone); MB is \`du --apparent-size\` of the CE folder.`,
    "Raw backup: `adb exec-out 'tar -cf - -C DIR .' | zstd -3 -q > file`. Raw restore: `zstd -dc file | adb exec-in 'tar -xf - -C DIR'` onto the other phone.",
    'BackupApp: call → task Finished (backup file AVAILABLE). RecoverApp onto the other phone: call → task Finished (archive read once, every digest verified as it stages, then install + swap).',
    '',
    '| App | raw backup s | BackupApp s | vs raw | raw restore s | RecoverApp s | vs raw | archive vs raw .zst | service peak RSS so far |',
    '|---|---|---|---|---|---|---|---|---|',
    ...lines,
    '',
    `Per-task fixed cost (the ${small.mib} MiB row: connection, package queries, \`du\`, APK, database writes, polling at 50 ms): BackupApp ${f(small.backup.seconds * 1000, 0)} ms, RecoverApp ${f(small.recover.seconds * 1000, 0)} ms, against ${f(small.raw.backup * 1000, 0)} / ${f(small.raw.restore * 1000, 0)} ms for the raw pipelines.`,
    '',
    `CPU-seconds per GB of app data, ${big.mib} MiB row, on ${cpus().length} cores:`,
    `- raw backup (adb server + adb client + zstd -3): ${perGb(big.raw.backupCpu)}; phone ${perGb(big.raw.backupPhone)}`,
    `- BackupApp service: ${perGb(svc.self + svc.children)} (Node process ${perGb(svc.self)}, zstd child ${perGb(svc.children)}); phone ${perGb(big.backup.phone)}`,
    `- raw restore: phone ${perGb(big.raw.restorePhone)}`,
    `- RecoverApp service: ${perGb(big.recover.service.self + big.recover.service.children)} (Node process ${perGb(big.recover.service.self)}, zstd child ${perGb(big.recover.service.children)}); phone ${perGb(big.recover.phone)}`,
    'Phone: its emulator process and every sandboxed command it ran (adbd, the shell, tar, toybox), counted through a child subreaper, as in the fleet bench (bench/fleet-cpu.ts).',
    '',
  ].join('\n');
}

interface Phone {
  root: string;
  port: number;
  proc: ChildProcess;
}

async function startPhone(root: string, procs: ChildProcess[]): Promise<Phone> {
  const port = await freePort();
  const proc = reapedCli(['emulator', '--root', root, '--port', String(port), '--seed-apps'], procs);
  await waitOutput(proc, /listening on/);
  return { root, port, proc };
}

/** CPU seconds so far of a phone's whole tree (its subreaper, the emulator and what it ran) */
const phoneCpu = (p: Phone) => sampleCpu({ phone: [p.proc.pid ?? 0] }).phone ?? 0;

async function settle(rpc: RPCClient, taskId: string): Promise<void> {
  const t = await settleTask(rpc, taskId);
  if (t.TaskStatus !== 'Finished') throw new Error(`task ${t.TaskStatus}: ${t.ErrorMsg}`);
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(await run());
