import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import RPCClient from '@alicloud/pop-core';

// The load generator, run as its own process (bench/describe-tasks.ts starts it): N keep-alive
// connections, each sending its next request as soon as the last answer is complete. Requests
// are signed by @alicloud/pop-core itself, before the clock starts: its RPCClient.request builds
// and signs the URL and headers, then hands them to httpx.request, which is swapped here for a
// function that keeps them instead of sending. Signatures carry a nonce the service accepts once,
// so each is sent once; a server that checks none (the bare handler) may be sent the pool again.
// The HTTP side is a plain socket and a Content-Length parser, so that the generator spends far
// less CPU per request than the servers it measures (the report says how much it did spend).

export interface LoadConfig {
  origin: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** the DescribeTasks parameters, as they are given to pop-core (lists as arrays) */
  params: Record<string, unknown>;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** how many requests to sign up front */
  presign: number;
  /** send the pool again once it is used up (only for a server that checks no nonces) */
  replay: boolean;
}

export interface LoadResult {
  requests: number;
  errors: number;
  firstError: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** the generator's own CPU (user + system) over the measured window, in % of one core */
  cpuPercent: number;
  responseBytes: number;
  /** signed while the load ran, because the pool ran out */
  signedLate: number;
}

// the very module object pop-core's lib/rpc.js calls httpx.request on
const popCore = createRequire(import.meta.url).resolve('@alicloud/pop-core');
const httpx = createRequire(popCore)('httpx') as { request: unknown };

class Captured {
  constructor(
    readonly url: string,
    readonly headers: Record<string, string>,
  ) {}
}
httpx.request = async (url: string, opts: { headers: Record<string, string> }) => {
  throw new Captured(url, opts.headers);
};

async function signer(c: LoadConfig): Promise<() => Promise<Buffer>> {
  const client = new RPCClient({
    endpoint: c.origin,
    apiVersion: '2023-09-30',
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
  });
  const host = new URL(c.origin).host;
  return async () => {
    const err = await client.request('DescribeTasks', c.params).catch((e: unknown) => e);
    if (!(err instanceof Captured)) throw err;
    const { pathname, search } = new URL(err.url);
    // what Node's http client writes for that call on a keep-alive agent
    const head = Object.entries({ ...err.headers, host, connection: 'keep-alive' }).map(([k, v]) => `${k}: ${v}\r\n`);
    return Buffer.from(`GET ${pathname}${search} HTTP/1.1\r\n${head.join('')}\r\n`, 'latin1');
  };
}

export async function load(c: LoadConfig, onStart?: () => void): Promise<LoadResult> {
  const sign = await signer(c);
  const pool: Buffer[] = [];
  for (let i = 0; i < c.presign; i++) pool.push(await sign());
  let next = 0;
  let signedLate = 0;
  const take = async () => {
    if (next < pool.length) return pool[next++] as Buffer;
    if (c.replay) return pool[next++ % pool.length] as Buffer;
    signedLate++;
    return sign();
  };
  const { hostname, port } = new URL(c.origin);
  onStart?.();
  const latencies: number[] = [];
  const stats = { errors: 0, firstError: '', responseBytes: 0 };
  const start = performance.now();
  const measureFrom = start + c.warmupMs;
  const end = measureFrom + c.durationMs;
  let cpuAtStart = process.cpuUsage();
  setTimeout(() => {
    cpuAtStart = process.cpuUsage();
  }, c.warmupMs);
  const lane = (socket: Socket) =>
    new Promise<void>((resolve, reject) => {
      let buf: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = async () => {
        if (performance.now() >= end) return socket.end(resolve);
        const request = await take();
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('data', (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buf.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN);
        if (Number.isNaN(length)) return reject(new Error(`an answer without Content-Length: ${head}`));
        if (buf.length < headEnd + 4 + length) return;
        const body = buf.subarray(headEnd + 4, headEnd + 4 + length);
        buf = buf.subarray(headEnd + 4 + length);
        const done = performance.now();
        if (sentAt >= measureFrom && done <= end) {
          latencies.push(done - sentAt);
          stats.responseBytes = length;
          if (!head.startsWith('HTTP/1.1 200')) {
            stats.errors++;
            stats.firstError ||= `${head.split('\r\n')[0]} ${body.toString('utf8').slice(0, 300)}`;
          }
        }
        void send().catch(reject);
      });
      socket.once('error', reject);
      socket.once('connect', () => void send().catch(reject));
    });
  await Promise.all(
    Array.from({ length: c.connections }, () => lane(connect({ host: hostname, port: Number(port), noDelay: true }))),
  );
  const cpu = process.cpuUsage(cpuAtStart);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    ...stats,
    rps: latencies.length / (c.durationMs / 1000),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    cpuPercent: ((cpu.user + cpu.system) / 1000 / c.durationMs) * 100,
    signedLate,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
  // "go" first: the bench samples the servers' CPU from then on
  const result = await load(config, () => process.stdout.write('go\n'));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
