import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SUBREAPER } from './fleet-cpu.ts';

// The benches' processes: the CLI spawned as a phone or a service, and what /proc says of them.
// CPU is read from /proc/<pid>/stat (utime, stime, cutime, cstime: fields 14–17 of proc(5)),
// so a service's zstd child, once reaped, is counted apart from the service itself.

const BIN = join(import.meta.dirname, '..', 'bin', 'cloudphone-backup.js');
export const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/**
 * `BENCH_CPU_PROF=DIR` makes every spawned process (phones and services) write a V8 CPU profile
 * there on exit; `BENCH_NODE_FLAGS` adds Node flags (e.g. `--max-semi-space-size=2`) to each
 */
export function nodeFlags(): string[] {
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  return [...prof, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
}

export function cli(args: string[], procs: ChildProcess[]): ChildProcess {
  return launch(['node', ...nodeFlags(), BIN, ...args], procs);
}

/**
 * `cli` under a child subreaper (fleet-cpu.ts SUBREAPER): for an emulated phone, whose sandboxed
 * commands are orphaned out of its tree, so that `sampleCpu` of the returned pid counts them
 */
export function reapedCli(args: string[], procs: ChildProcess[]): ChildProcess {
  return launch(['python3', '-c', SUBREAPER, 'node', ...nodeFlags(), BIN, ...args], procs);
}

function launch([command, ...argv]: string[], procs: ChildProcess[]): ChildProcess {
  const p = spawn(command as string, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
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

export interface Cpu {
  /** the process itself */
  self: number;
  /** its children that have exited and been waited for */
  children: number;
}

export function cpu(pid: number | undefined): Cpu {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const f = (i: number) => Number(fields[i] ?? 0) / TICK;
  return { self: f(11) + f(12), children: f(13) + f(14) };
}

export const cpuSince = (before: Cpu, after: Cpu): Cpu => ({
  self: after.self - before.self,
  children: after.children - before.children,
});

/** kernel high-water mark of resident memory (VmHWM), in MB: nothing between samples is missed */
export function peakRss(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** the adb server started for `port` (`adb -L tcp:PORT fork-server server …`): the real client's daemon half */
export function adbServerPid(port: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('fork-server') && args.includes(`tcp:${port}`)) return Number(entry);
    } catch {}
  }
  throw new Error(`no adb server for port ${port}`);
}

/** runs a shell pipeline and returns its wall seconds and the CPU of all its processes (bash's `times`) */
export function timedShell(script: string): { seconds: number; cpu: number } {
  const start = performance.now();
  const out = execFileSync('bash', ['-c', `${script}\ntimes`], { encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  // `times` prints the shell's own then its children's user and system times, e.g. "0m1.234s 0m0.100s"
  const child = out.trim().split('\n').at(-1) ?? '';
  const total = [...child.matchAll(/(\d+)m([\d.]+)s/g)].reduce((n, m) => n + Number(m[1]) * 60 + Number(m[2]), 0);
  return { seconds, cpu: total };
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface SdkKey {
  AccessKeyId: string;
  AccessKeySecret: string;
}

/** through the CLI: an SDK key in `data`, and each phone registered as an instance */
export function registerPhones(data: string, phones: readonly { id: string; port: number }[]): SdkKey {
  const key = JSON.parse(
    execFileSync('node', [BIN, 'keys', 'create', '--json', '--data-dir', data], { encoding: 'utf8' }),
  ) as SdkKey;
  for (const { id, port } of phones)
    execFileSync('node', [BIN, 'instances', 'add', '--id', id, '--adb', `127.0.0.1:${port}`, '--data-dir', data]);
  return key;
}

export type TaskRow = Record<string, string | number>;

/** polls DescribeTasks every 50 ms until the task settles; returns its row */
export async function settleTask(
  rpc: { request<T>(action: string, params: object): Promise<T> },
  taskId: string,
): Promise<TaskRow> {
  for (;;) {
    const body = await rpc.request<{ Data: TaskRow[] }>('DescribeTasks', { TaskIds: [taskId] });
    const t = body.Data[0];
    if (t && ['Finished', 'PartFinished', 'Failed'].includes(String(t.TaskStatus))) return t;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ends a bench's processes (and the adb server it started, if any), then removes its folder */
export async function stopAll(procs: ChildProcess[], dir: string, adbPort?: number): Promise<void> {
  for (const p of procs) p.kill('SIGTERM');
  if (adbPort !== undefined) {
    try {
      execFileSync('adb', ['-P', String(adbPort), 'kill-server'], { stdio: 'ignore' });
    } catch {}
  }
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
