import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

// zstd runs as a child process: it compresses on its own threads (-T0), off Node's event loop,
// which measured faster than in-process zlib or a main-thread binding (notes/performance.md).

export interface ZstdProcess {
  input: Writable;
  output: Readable;
  /** resolves when zstd exited cleanly; rejects with its stderr otherwise */
  done: Promise<void>;
  kill(): void;
}

export function zstdCompress(level = 3): ZstdProcess {
  return run(['-q', '-c', `-${level}`, '-T0']);
}

export function zstdDecompress(): ZstdProcess {
  return run(['-q', '-d', '-c']);
}

function run(args: string[]): ZstdProcess {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  // a consumer that stops early makes zstd's stdin fail with EPIPE; `done` reports the real cause
  child.stdin.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`cannot run zstd: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`zstd failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
    });
  });
  const kill = () => {
    done.catch(() => {}); // killed on purpose: the caller already has the real error
    child.kill('SIGKILL');
  };
  return { input: child.stdin, output: child.stdout, done, kill };
}
