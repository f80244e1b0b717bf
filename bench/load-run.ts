import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadConfig, LoadResult } from './http-load.ts';

// One measurement for bench/describe-tasks.ts: the load generator (http-load.ts) in a process of
// its own against a server process, and the CPU that server and the whole machine used over the
// generator's measured window (read from /proc, so nothing between samples is missed).

export const SHAPE = { connections: 16, warmupMs: 1500, durationMs: 5000 };

export interface Measured extends LoadResult {
  /** the server process's CPU over the window, % of one core */
  serverCpu: number;
  /** all cores busy over the window, % */
  machineBusy: number;
}

const LOAD = join(import.meta.dirname, 'http-load.ts');
type Target = Pick<LoadConfig, 'accessKeyId' | 'accessKeySecret' | 'params'>;

/** the bare handler (bare-fastify.ts) answering `answer`, loaded like the service */
export async function measureBare(dir: string, name: string, answer: unknown, c: Target): Promise<Measured> {
  const bodyFile = join(dir, `${name.replace(/\W+/g, '-')}.json`);
  writeFileSync(bodyFile, JSON.stringify(answer));
  const bare = spawn('node', ['--import', 'tsx', join(import.meta.dirname, 'bare-fastify.ts'), bodyFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const origin = await new Promise<string>((resolve) =>
      bare.stdout.on('data', (chunk: Buffer) => resolve(/on (\S+)/.exec(chunk.toString())?.[1] ?? '')),
    );
    return await measure(bare, { origin, ...c, presign: 5000, replay: true });
  } finally {
    bare.kill('SIGTERM');
  }
}

/** one load run against the server process `server`, with its CPU and the machine's over the measured window */
export async function measure(
  server: ChildProcess,
  c: Target & Pick<LoadConfig, 'origin' | 'presign' | 'replay'>,
): Promise<Measured> {
  const config: LoadConfig = { ...c, ...SHAPE };
  const gen = spawn('node', ['--import', 'tsx', LOAD, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const samples: { server: number; machine: [number, number] }[] = [];
  const sample = () => samples.push({ server: cpuTicks(server.pid ?? 0), machine: machineTicks() });
  gen.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.startsWith('go\n') && samples.length === 0) {
      samples.push({ server: 0, machine: [0, 0] });
      setTimeout(sample, SHAPE.warmupMs);
      setTimeout(sample, SHAPE.warmupMs + SHAPE.durationMs);
    }
  });
  const code = await new Promise((resolve) => gen.once('exit', resolve));
  const result = JSON.parse(out.split('\n')[1] ?? '') as LoadResult;
  if (code !== 0 || result.errors > 0) throw new Error(`load against ${c.origin} failed: ${result.firstError}`);
  const [, a, b] = samples;
  const seconds = SHAPE.durationMs / 1000;
  return {
    ...result,
    serverCpu: a && b ? (b.server - a.server) / seconds : 0,
    machineBusy: a && b ? (100 * (b.machine[0] - a.machine[0])) / (b.machine[1] - a.machine[1]) : 0,
  };
}

/** user + system CPU of a process in % of one core-second (clock ticks are 1/100 s) */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

/** [busy, total] jiffies of all cores, from /proc/stat (busy = total − idle − iowait) */
function machineTicks(): [number, number] {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((n, v) => n + v, 0);
  return [total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total];
}
