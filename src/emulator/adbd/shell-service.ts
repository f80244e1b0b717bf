import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { AdbStream } from './adb-stream.ts';
import { readExact } from './exact-reader.ts';

// `shell:`, `shell,v2,…:` and `exec:` (daemon/shell_service.cpp). Raw shell merges stderr into
// stdout; exec is byte-exact stdout only; shell v2 frames stdin/stdout/stderr/exit as
// `id u8, len u32 LE, data`.

export type ShellMode = 'raw' | 'exec' | 'v2';

const MAX_V2_FRAME = 1024 * 1024;
const V2 = { stdin: 0, stdout: 1, stderr: 2, exit: 3, closeStdin: 4, windowSize: 5 } as const;

// After the host hangs up, input already received still reaches the child (`adb exec-in` closes
// right after its last write), so the child gets this long to finish before it is killed.
const HANGUP_GRACE_MS = 2000;

export function runShell(stream: AdbStream, child: ChildProcessWithoutNullStreams, mode: ShellMode): void {
  let exited = false;
  child.on('error', () => stream.destroy());
  stream.on('error', () => undefined);
  stream.once('hangup', () => {
    if (exited) return;
    setTimeout(() => {
      if (!exited) child.kill('SIGKILL');
    }, HANGUP_GRACE_MS).unref();
  });
  child.stdin.on('error', () => undefined); // the child may exit without reading its input
  if (mode === 'v2') {
    forward(child.stdout, stream, (d) => frame(V2.stdout, d));
    forward(child.stderr, stream, (d) => frame(V2.stderr, d));
    void feedV2Input(stream, child);
  } else {
    forward(child.stdout, stream, (d) => d);
    if (mode === 'raw') forward(child.stderr, stream, (d) => d);
    else child.stderr.resume(); // exec-out must stay byte-exact, so stderr goes nowhere
    stream.pipe(child.stdin);
  }
  child.once('close', (code, signal) => {
    exited = true;
    if (mode === 'v2') {
      const status = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
      stream.write(frame(V2.exit, Buffer.of(status & 0xff)));
    }
    stream.end();
  });
}

/** service arguments before the colon, e.g. `shell,v2,TERM=xterm,raw:` → v2 */
export function shellModeOf(args: string[]): ShellMode {
  return args.includes('v2') ? 'v2' : 'raw';
}

function frame(id: number, data: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(id, 0);
  head.writeUInt32LE(data.length, 1);
  return Buffer.concat([head, data]);
}

/** copies a child's output into the stream, pausing the child while the host is behind */
function forward(source: Readable, stream: AdbStream, wrap: (data: Buffer) => Buffer): void {
  source.on('data', (data: Buffer) => {
    if (stream.isHungUp || stream.writableEnded || stream.destroyed) return;
    if (!stream.write(wrap(data))) {
      source.pause();
      stream.once('drain', () => source.resume());
    }
  });
}

async function feedV2Input(stream: AdbStream, child: ChildProcessWithoutNullStreams): Promise<void> {
  for (;;) {
    const head = await readExact(stream, 5);
    if (!head || head.readUInt32LE(1) > MAX_V2_FRAME) break;
    const data = await readExact(stream, head.readUInt32LE(1));
    if (!data) break;
    const id = head.readUInt8(0);
    if (id === V2.closeStdin) break;
    if (id !== V2.stdin || child.stdin.destroyed) continue; // window-size changes mean nothing without a PTY
    if (!child.stdin.write(data)) await drained(child.stdin);
  }
  child.stdin.end();
  stream.resume(); // whatever follows close-stdin is discarded
}

function drained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
