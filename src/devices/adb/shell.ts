import { Readable } from 'node:stream';
import { ERRORS } from '../../errors.ts';
import type { AdbConnection } from './adb-connection.ts';
import type { AdbStream } from './adb-stream.ts';
import { takeBytes } from './packet.ts';
import {
  SHELL_CLOSE_STDIN,
  SHELL_EXIT,
  SHELL_HEADER,
  SHELL_STDERR,
  SHELL_STDIN,
  SHELL_STDOUT,
  ShellPacketDecoder,
  shellHeader,
} from './shell-protocol.ts';

// `shell,v2,raw:<command>`: stdout as a back-pressured Readable, stdin streamed from a Readable
// and closed with the close-stdin packet, exit code and stderr when the command ends.

export interface ShellExit {
  exitCode: number;
  stderr: string;
}

export interface ShellProcess {
  stdout: Readable;
  /** settles when the exit packet arrives (or the stream fails); never rejects unobserved */
  exit: Promise<ShellExit>;
}

export interface ShellOptions {
  stdin?: Readable;
  signal?: AbortSignal;
  /** a non-zero exit errors stdout (with stderr's text) instead of ending it */
  failOnNonZero?: boolean;
  /** with failOnNonZero: a non-zero exit that is still a success (e.g. tar's report of skipped sockets) */
  acceptExit?: (exit: ShellExit) => boolean;
}

const MAX_STDERR = 64 * 1024;
/** stdout pieces buffered before the device is held back (each at most one socket read) */
const STDOUT_CHUNKS = 16;
/** how long a command whose input failed gets to exit before its stream is closed under it */
const INPUT_FAILURE_GRACE_MS = 5000;

export function spawnShell(conn: AdbConnection, command: string, opts: ShellOptions = {}): ShellProcess {
  let adb: AdbStream | null = null;
  let done = false;
  // chunks as they came (object mode): a byte-mode Readable's read() joins whatever is buffered
  // into a new buffer, which for a device tar meant one more copy, and allocation, of most of it
  const stdout = new Readable({
    objectMode: true,
    highWaterMark: STDOUT_CHUNKS,
    read: () => adb?.resume(),
    destroy: (err, cb) => {
      done = true;
      adb?.destroy();
      cb(err);
    },
  });
  const stderr: Buffer[] = [];
  let stderrSize = 0;
  let resolveExit!: (e: ShellExit) => void;
  let rejectExit!: (e: Error) => void;
  const exit = new Promise<ShellExit>((resolve, reject) => {
    resolveExit = resolve;
    rejectExit = reject;
  });
  exit.catch(() => {});

  const fail = (err: Error) => {
    if (done) return;
    done = true;
    rejectExit(err);
    stdout.destroy(err);
  };
  // input that failed (a refused archive entry): the command is told its input ended and is
  // waited for, so a caller that then cleans up (removes a staging folder) never races a tar
  // still writing into it; the input's error is what the caller sees
  let inputError: Error | null = null;
  const inputFailed = (err: Error) => {
    if (done || inputError) return;
    inputError = err;
    adb?.writePacket([shellHeader(SHELL_CLOSE_STDIN, 0)]).catch(() => {});
    setTimeout(() => fail(err), INPUT_FAILURE_GRACE_MS).unref();
  };
  const finish = (exitCode: number) => {
    if (done) return;
    if (inputError) return fail(inputError);
    done = true;
    const result = { exitCode, stderr: Buffer.concat(stderr).toString('utf8').trim() };
    if (exitCode !== 0 && opts.failOnNonZero && !opts.acceptExit?.(result)) {
      stdout.destroy(commandFailed(conn, command, result));
    } else stdout.push(null);
    resolveExit(result);
    adb?.destroy();
  };
  const decoder = new ShellPacketDecoder((id, data) => {
    if (done) return;
    if (id === SHELL_STDOUT) {
      if (!stdout.push(data)) adb?.pause();
    } else if (id === SHELL_STDERR && stderrSize < MAX_STDERR) {
      stderr.push(data);
      stderrSize += data.length;
    } else if (id === SHELL_EXIT) finish(data[0] ?? 255);
  });
  const onAbort = () => {
    const reason = opts.signal?.reason;
    fail(reason instanceof Error ? reason : new Error('aborted'));
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  exit.finally(() => opts.signal?.removeEventListener('abort', onAbort)).catch(() => {});

  if (!conn.features.has('shell_v2')) {
    fail(ERRORS.deviceCommandFailed(conn.address, 'the device does not support shell protocol v2 (no exit codes)'));
    return { stdout, exit };
  }
  conn.open(`shell,v2,raw:${command}`, opts.signal).then((stream) => {
    adb = stream;
    if (done) return void stream.destroy();
    stream.on('data', (chunk: Buffer) => decoder.push(chunk));
    stream.on('end', () =>
      fail(ERRORS.deviceCommandFailed(conn.address, `\`${command}\` ended without an exit status`)),
    );
    stream.on('error', fail);
    if (opts.stdin)
      pumpStdin(stream, opts.stdin, conn.maxPayload, () => done || inputError !== null).catch(inputFailed);
  }, fail);
  return { stdout, exit };
}

/** Runs a small command to completion, collecting its output (bounded). */
export async function runShell(
  conn: AdbConnection,
  command: string,
  opts: Omit<ShellOptions, 'failOnNonZero'> & { maxOutput?: number } = {},
): Promise<ShellExit & { stdout: string }> {
  const max = opts.maxOutput ?? 16 * 1024 * 1024;
  const proc = spawnShell(conn, command, opts);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw ERRORS.deviceCommandFailed(conn.address, `\`${command}\` printed more than ${max} bytes`);
    chunks.push(chunk);
  }
  const result = await proc.exit;
  return { ...result, stdout: Buffer.concat(chunks).toString('utf8') };
}

export function commandFailed(conn: AdbConnection, command: string, result: ShellExit & { stdout?: string }) {
  const detail = result.stderr || result.stdout?.trim() || 'no output';
  return ERRORS.deviceCommandFailed(conn.address, `\`${command}\` exited with ${result.exitCode}: ${detail}`);
}

/**
 * Streams stdin to the device as shell packets as large as a WRTE carries (maxPayload): every
 * WRTE waits for the device's OKAY (no delayed_ack), so a tar of small files handed over in small
 * pieces would cost a round trip each, and a device tar waiting for the next WRTE idles. The
 * pieces are gathered by reference and written after their headers, never copied together.
 * Input is gathered until a packet is full or stdin ends, so it suits commands that read their
 * input to the end before they answer (tar -x), which is all that is given stdin here.
 */
async function pumpStdin(adb: AdbStream, stdin: Readable, maxPayload: number, ended: () => boolean) {
  const room = maxPayload - SHELL_HEADER;
  const parts: Buffer[] = [];
  let size = 0;
  const send = async (n: number) => {
    size -= n;
    await adb.writePacket([shellHeader(SHELL_STDIN, n), ...takeBytes(parts, n)]);
  };
  for await (const data of stdin as AsyncIterable<Buffer | string>) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (chunk.length === 0) continue;
    parts.push(chunk);
    size += chunk.length;
    while (size >= room) {
      if (ended()) return;
      await send(room);
    }
  }
  if (ended()) return;
  if (size > 0) await send(size);
  if (!ended()) await adb.writePacket([shellHeader(SHELL_CLOSE_STDIN, 0)]);
}
