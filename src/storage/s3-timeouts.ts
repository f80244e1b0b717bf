import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

// The S3 driver's inactivity bounds, on top of what @smithy/node-http-handler (4.14) gives:
// - its `socketTimeout` is `socket.setTimeout(ms, onTimeout)` on the request's socket, kept until the
//   request emits 'close' (set-socket-timeout.js); Node's http client emits that only after the
//   response ended, so it also covers a response body that stops mid-stream: `onTimeout` destroys
//   the response with a TimeoutError. Node itself skips a timeout while a write is still draining
//   (net.js Socket#_onTimeout compares writeQueueSize), so a slow part upload is not a stall, and
//   a stalled one is caught between 1 and 2 × the timeout after its last byte moved.
//   But the socket is just as idle when *we* stop reading, so a body whose consumer is
//   back-pressured (the phone taking its time) would time out too: `watchBody` switches that timer
//   off while our reader holds the body back.
// - the SDK retries a TimeoutError like any transient fault (TRANSIENT_ERROR_CODES in
//   @smithy/core/retry), which would multiply the bound by its 3 attempts (up to 6 × the timeout
//   for a part) and push it past the task's stall watchdog. `stallsAreFinal` makes a stall an
//   error the SDK does not retry; the task's retry policy runs the task again instead.

/** the name a stalled request's error carries; the driver reports it as a transient failure */
export const STALLED = 'RequestStalled';

// the handler's inactivity timeout: a TimeoutError without a code ("... timed out after N ms of
// inactivity"); a connect timeout (no code either) stays retried, and so do the resets it also
// renames TimeoutError (NODEJS_TIMEOUT_ERROR_CODES), which keep their ECONNRESET/EPIPE code
const isStall = (err: unknown) => {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.name === 'TimeoutError' && e.code === undefined && /inactivity/.test(e.message);
};

/**
 * Deserialize-step middleware, priority high: below the retry middleware (finalizeRequest), so it
 * sees each attempt, and above the deserializer, so it also sees a stall while a body is parsed.
 */
export const stallsAreFinal =
  // biome-ignore lint/suspicious/noExplicitAny: the SDK types middleware generically over every command
  (next: (args: any) => Promise<any>) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (err) {
      if (!isStall(err)) throw err;
      // no `cause`: the retry strategy would find the TimeoutError through it and retry anyway
      throw Object.assign(new Error((err as Error).message), { name: STALLED });
    }
  };

/**
 * A GetObject body whose inactivity timeout runs only while we are asking for data. Errors of the
 * body (the handler's TimeoutError, a reset) come out as `mapError(err)`.
 */
export function watchBody(body: Readable, timeoutMs: number, mapError: (err: unknown) => Error): Readable {
  const res = body as IncomingMessage;
  // after `complete` every byte is in; the socket may already serve another request of the pool
  const setIdle = (ms: number) => {
    if (!res.complete && res.socket && !res.socket.destroyed) res.socket.setTimeout(ms);
  };
  const out = new Readable({
    read() {
      // asked again: the clock restarts now, not when we stopped reading
      setIdle(timeoutMs);
      body.resume();
    },
    destroy(err, cb) {
      body.destroy();
      cb(err);
    },
  });
  body.on('data', (chunk: Buffer) => {
    if (out.push(chunk)) return;
    body.pause();
    setIdle(0);
  });
  body.once('end', () => out.push(null));
  body.once('error', (err) => out.destroy(mapError(err)));
  // a body destroyed without an error (the socket closed under it) must not look like a clean end
  body.once('close', () => {
    if (body.readableEnded || out.destroyed) return;
    out.destroy(mapError(Object.assign(new Error('the response body was cut short'), { code: 'ECONNRESET' })));
  });
  return out;
}
