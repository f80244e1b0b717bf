import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import RPCClient from '@alicloud/pop-core';
import { writeAppData } from './app-data.ts';
import { cli, cpu, cpuSince, freePort, peakRss, registerPhones, settleTask, stopAll, waitOutput } from './processes.ts';

// Four phones backed up at once by one service (one BackupApp naming all four), next to four raw
// pipelines `adb exec-out 'tar -cf - -C DIR .' | zstd -3 > file` run at once on the same phones.
// Aggregate throughput is the four apps' bytes over the wall time of the whole batch.

const PKG = 'com.example.notes';
const CE = `/data/user/0/${PKG}`;

export async function run(): Promise<string> {
  const phones = Number(process.env.BENCH_PARALLEL_PHONES ?? 4);
  const mib = Number(process.env.BENCH_PARALLEL_MB ?? 256);
  const dir = mkdtempSync(join(tmpdir(), 'cpb-parallel-'));
  const procs: ChildProcess[] = [];
  const adbPort = await freePort();
  try {
    const ports: number[] = [];
    for (let i = 0; i < phones; i++) {
      const port = await freePort();
      const emu = cli(['emulator', '--root', join(dir, `phone${i}`), '--port', String(port), '--seed-apps'], procs);
      await waitOutput(emu, /listening on/);
      ports.push(port);
    }
    // the same app data on every phone: written once, copied with its owners
    const first = join(dir, 'phone0', CE.slice(1));
    writeAppData(join(first, 'files', 'bench'), mib * 2 ** 20, statSync(first).uid);
    for (let i = 1; i < phones; i++) {
      cpSync(join(first, 'files', 'bench'), join(dir, `phone${i}`, CE.slice(1), 'files', 'bench'), {
        recursive: true,
        preserveTimestamps: true,
      });
      execFileSync('chown', [
        '-R',
        `${statSync(first).uid}:${statSync(first).gid}`,
        join(dir, `phone${i}`, CE.slice(1)),
      ]);
    }
    const appBytes = Number(execFileSync('du', ['-sb', '--apparent-size', first], { encoding: 'utf8' }).split('\t')[0]);
    const total = appBytes * phones;

    for (const port of ports) execFileSync('adb', ['-P', String(adbPort), 'connect', `127.0.0.1:${port}`]);
    let start = performance.now();
    await Promise.all(
      ports.map((port, i) =>
        shell(
          `adb -P ${adbPort} -s 127.0.0.1:${port} exec-out 'tar -cf - -C ${CE} .' | zstd -3 -q > ${dir}/raw${i}.zst`,
        ),
      ),
    );
    const rawSeconds = (performance.now() - start) / 1000;

    const data = join(dir, 'data');
    const ids = ports.map((_, i) => `acp-par${i}`);
    const key = registerPhones(
      data,
      ports.map((port, i) => ({ id: ids[i] as string, port })),
    );
    const apiPort = await freePort();
    // as many tasks at once as phones, so the batch is not queued behind the worker's default
    const serve = cli(['serve', '--data-dir', data, '--port', String(apiPort), '--concurrency', String(phones)], procs);
    await waitOutput(serve, /API on/);
    const rpc = new RPCClient({
      endpoint: `http://127.0.0.1:${apiPort}`,
      apiVersion: '2023-09-30',
      accessKeyId: key.AccessKeyId,
      accessKeySecret: key.AccessKeySecret,
    });
    const before = cpu(serve.pid);
    start = performance.now();
    const backup = await rpc.request<{ TaskId: string }>('BackupApp', {
      AndroidInstanceIdList: ids,
      SourceAppList: [PKG],
      BackupFilePath: 'oss://bench/parallel/',
      UploadEndpoint: 'oss-bench.local',
    });
    const batch = await settleTask(rpc, backup.TaskId);
    if (batch.TaskStatus !== 'Finished') throw new Error(`batch ${batch.TaskStatus}: ${batch.ErrorMsg}`);
    const seconds = (performance.now() - start) / 1000;
    const used = cpuSince(before, cpu(serve.pid));
    const rss = peakRss(serve.pid);
    const mbps = (s: number) => (total / 1e6 / s).toFixed(0);
    return [
      `## ${phones} phones backed up at once by one service (bench/backup-parallel.ts)`,
      '',
      `Each phone holds the same ${mib} MiB of bench/app-data.ts data in ${PKG} (${(appBytes / 1e6).toFixed(0)} MB per app, ${(total / 1e6).toFixed(0)} MB in all); one BackupApp names all ${phones}, the worker runs ${phones} tasks at once; the raw pipelines run at once too. ${cpus().length} cores.`,
      '',
      '| Pipeline | Seconds | Aggregate MB/s | vs raw | Service peak RSS |',
      '|---|---|---|---|---|',
      `| ${phones} × raw \`adb exec-out 'tar -cf - …' \\| zstd -3 > file\` at once | ${rawSeconds.toFixed(1)} | ${mbps(rawSeconds)} | 1.00 | — |`,
      `| one BackupApp of ${phones} phones (call → batch Finished) | ${seconds.toFixed(1)} | ${mbps(seconds)} | **${(rawSeconds / seconds).toFixed(2)}** | **${rss.toFixed(0)} MB** |`,
      '',
      `Service CPU over the batch: ${(used.self + used.children).toFixed(1)} s (Node ${used.self.toFixed(1)} s, zstd children ${used.children.toFixed(1)} s) = ${((used.self + used.children) / (total / 1e9)).toFixed(1)} CPU-s per GB.`,
      '',
    ].join('\n');
  } finally {
    await stopAll(procs, dir, adbPort);
  }
}

function shell(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-c', script], { stdio: 'ignore' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited ${code}`))));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(await run());
