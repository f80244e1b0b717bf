import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

// An emulated phone in a process of its own (`cloudphone-backup emulator`, run from the sources
// through tsx's loader in that one process), so a test can freeze it with SIGSTOP: the socket
// stays open and the kernel keeps accepting connections, but adbd answers nothing.

const REPO = join(import.meta.dirname, '..', '..');

export interface ChildEmulator {
  address: string;
  root: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startChildEmulator(root: string): Promise<ChildEmulator> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'emulator', '--root', root, '--port', '0', '--seed-apps'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (output.length < 10_000) output += d.toString();
  });
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /listening on (\S+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}: ${output}`)));
  });
  return {
    address,
    root,
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGCONT'); // a stopped process would not act on SIGTERM until continued
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
