import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// The real `cloudphone-backup` binary as a child process that a test can SIGKILL. It runs a bundle
// built from the working tree when the suite starts (as `npm run build` makes dist/), so a single
// test file run never exercises a stale dist/. Every child started is tracked and ended by
// stopAll(), by its own pid.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  proc: ChildProcess;
  /** what the ready pattern captured (the API's URL, the phone's address) */
  ready: RegExpMatchArray;
  exited: Promise<Exit>;
  /** stdout and stderr so far, for failure messages */
  output(): string;
  alive(): boolean;
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

const started = new Set<CliProcess>();
let bundle: Promise<string> | undefined;

/** bundles src/cli/main.ts once per test process into node_modules/.cache (so packages resolve) */
export function cliBundle(): Promise<string> {
  bundle ??= (async () => {
    const outdir = join(ROOT, 'node_modules', '.cache', 'cpb-test-cli', String(process.pid));
    rmSync(outdir, { recursive: true, force: true });
    process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
    await build({
      entryPoints: [join(ROOT, 'src/cli/main.ts')],
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      target: 'node20',
      outdir,
      logLevel: 'warning',
    });
    return join(outdir, 'main.js');
  })();
  return bundle;
}

export async function startCli(
  args: string[],
  opts: { ready: RegExp; env?: Record<string, string>; timeoutMs?: number },
): Promise<CliProcess> {
  const main = await cliBundle();
  const proc = spawn(process.execPath, [main, ...args], {
    env: { ...process.env, CPB_FAILPOINTS: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  let exit: Exit | undefined;
  void exited.then((e) => {
    exit = e;
  });
  const child: CliProcess = {
    proc,
    ready: [] as unknown as RegExpMatchArray,
    exited,
    output: () => text,
    alive: () => exit === undefined,
    async kill(signal = 'SIGKILL') {
      if (exit === undefined) proc.kill(signal);
      return exited;
    },
  };
  started.add(child);
  void exited.then(() => started.delete(child));
  child.ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${args[0]} not ready in time:\n${text}`));
    }, opts.timeoutMs ?? 30_000);
    let ready = false;
    // read to the end whatever happens: a child whose pipe fills up blocks on its next write
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = ready ? null : opts.ready.exec(text);
      if (m) {
        ready = true;
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (${e.signal ?? e.code}) before it was ready:\n${text}`));
    });
  });
  return child;
}

/** ends every child still running (afterAll) */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((c) => c.kill('SIGKILL')));
}

export const API_READY = /cloudphone-backup API on (http:\/\/[^\s/]+)\//;
export const WORKER_READY = /"msg":"worker started"/;
export const EMULATOR_READY = /emulated phone listening on (\S+)/;
