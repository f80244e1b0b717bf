import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// A reverse proxy in front of a path-style S3 server (moto, s3rver) that breaks chosen requests:
// it resets the connection or stalls (stops forwarding and holds the socket open) after N bytes
// of the request or response body, or answers 500, 503 or SlowDown itself. Each rule covers the
// next `times` matching requests; `fired` counts the faults it really applied (a stall after
// 1 MiB of a 100-byte request never fires), so a test can show the fault happened.

export type S3Op =
  | 'PutObject'
  | 'UploadPart'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'ListObjectsV2'
  | 'ListMultipartUploads'
  | 'Other';

export interface Match {
  op?: S3Op;
  method?: string;
  /** tested against the decoded path, /bucket/key */
  path?: RegExp;
  /** query parameters that must be present (true) or have this value */
  query?: Record<string, string | true>;
}

export type Fault =
  | { kind: 'reset' | 'stall'; side: 'request' | 'response'; after: number }
  | { kind: 'status'; status: 500 | 503 }
  | { kind: 'slowDown' };

export interface Rule {
  match: Match;
  fault: Fault;
  times: number;
  /** requests the rule was applied to */
  matched: number;
  /** faults it actually caused */
  fired: number;
}

/** one request the proxy saw, and how many response body bytes the server sent (for benches that count reads) */
export interface Seen {
  op: S3Op;
  method: string;
  /** decoded, /bucket/key */
  path: string;
  status: number;
  responseBytes: number;
}

export interface FaultProxy {
  url: string;
  /** faults the next `times` (default 1; Infinity for all) requests matching `match` */
  inject(match: Match, fault: Fault, times?: number): Rule;
  clear(): void;
  /** requests seen, per operation */
  seen: Partial<Record<S3Op, number>>;
  /** every request, in arrival order */
  log: Seen[];
  close(): Promise<void>;
}

const ERROR_XML = {
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  503: ['ServiceUnavailable', 'Service is unable to handle request.'],
  slowDown: ['SlowDown', 'Please reduce your request rate.'],
} as const;

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: Rule[] = [];
  const sockets = new Set<Socket>();
  const seen: FaultProxy['seen'] = {};
  const log: Seen[] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const op = operationOf(req.method ?? 'GET', url);
    seen[op] = (seen[op] ?? 0) + 1;
    const entry: Seen = {
      op,
      method: req.method ?? 'GET',
      path: safeDecode(url.pathname),
      status: 0,
      responseBytes: 0,
    };
    log.push(entry);
    const rule = rules.find((r) => r.matched < r.times && matches(r.match, req.method ?? 'GET', url, op));
    if (rule) rule.matched++;
    // a broken connection surfaces on both sides; the client's view of it is what tests check
    req.on('error', () => {});
    res.on('error', () => {});
    if (rule && !('side' in rule.fault)) answerError(req, res, rule, entry);
    else forward(req, res, target, rule, entry);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    inject(match, fault, times = 1) {
      const rule: Rule = { match, fault, times, matched: 0, fired: 0 };
      rules.push(rule);
      return rule;
    },
    clear: () => void rules.splice(0),
    seen,
    log,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** a server's own error answer, after reading the whole request as a server does */
function answerError(req: IncomingMessage, res: ServerResponse, rule: Rule, entry: Seen) {
  const fault = rule.fault as Extract<Fault, { kind: 'status' | 'slowDown' }>;
  rule.fired++;
  entry.status = fault.kind === 'status' ? fault.status : 503;
  const [code, message] = ERROR_XML[fault.kind === 'status' ? fault.status : 'slowDown'];
  req.resume();
  req.once('end', () => {
    res.writeHead(fault.kind === 'status' ? fault.status : 503, { 'content-type': 'application/xml' });
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
    res.end(req.method === 'HEAD' ? undefined : xml);
  });
}

/** relays to the server, resetting or stalling where the rule says */
function forward(req: IncomingMessage, res: ServerResponse, target: URL, rule: Rule | undefined, entry: Seen) {
  const fault = rule?.fault;
  const at = (side: 'request' | 'response') => (fault && 'side' in fault && fault.side === side ? fault : undefined);
  const [onRequest, onResponse] = [at('request'), at('response')];
  // `expect` is never signed (SigV4), and Node's server has already sent 100 Continue; no pooling
  // upstream, so a connection this proxy breaks is never reused
  const { expect: _, ...headers } = req.headers;
  const up = request({
    host: target.hostname,
    port: target.port,
    method: req.method,
    path: req.url,
    headers,
    agent: false,
  });
  const apply = (kind: 'reset' | 'stall', from: IncomingMessage) => {
    (rule as Rule).fired++;
    if (kind === 'reset') {
      up.destroy();
      req.socket.resetAndDestroy();
    } else from.pause(); // and hold every socket open until the client gives up
  };
  res.on('close', () => up.destroy());
  up.on('error', () => res.destroy());
  up.on('response', (ur) => {
    entry.status = ur.statusCode ?? 0;
    ur.on('data', (chunk: Buffer) => {
      entry.responseBytes += chunk.length;
    });
    if (onResponse?.after === 0) return apply(onResponse.kind, ur);
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    relay(ur, res, onResponse?.after, () => onResponse && apply(onResponse.kind, ur));
  });
  relay(req, up, onRequest?.after, () => onRequest && apply(onRequest.kind, req));
}

/** forwards with back-pressure; at `limit` bytes forwards up to it, then calls `onLimit` and stops */
function relay(
  from: IncomingMessage,
  to: ServerResponse | ReturnType<typeof request>,
  limit: number | undefined,
  onLimit: () => void,
) {
  let sent = 0;
  let stopped = false;
  from.on('data', (chunk: Buffer) => {
    if (stopped) return;
    if (limit !== undefined && sent + chunk.length >= limit) {
      stopped = true;
      if (limit > sent) to.write(chunk.subarray(0, limit - sent));
      onLimit();
      return;
    }
    sent += chunk.length;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => stopped || from.resume());
    }
  });
  from.on('end', () => stopped || to.end());
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function matches(m: Match, method: string, url: URL, op: S3Op): boolean {
  if (m.op && m.op !== op) return false;
  if (m.method && m.method !== method) return false;
  if (m.path && !m.path.test(decodeURIComponent(url.pathname))) return false;
  for (const [k, v] of Object.entries(m.query ?? {})) {
    if (!url.searchParams.has(k) || (v !== true && url.searchParams.get(k) !== v)) return false;
  }
  return true;
}

function operationOf(method: string, url: URL): S3Op {
  const q = url.searchParams;
  const hasKey = /^\/[^/]+\/.+/.test(url.pathname);
  if (!hasKey) {
    if (method !== 'GET') return 'Other';
    return q.has('uploads') ? 'ListMultipartUploads' : q.get('list-type') === '2' ? 'ListObjectsV2' : 'Other';
  }
  switch (method) {
    case 'PUT':
      return q.has('uploadId') && q.has('partNumber') ? 'UploadPart' : 'PutObject';
    case 'POST':
      return q.has('uploads') ? 'CreateMultipartUpload' : q.has('uploadId') ? 'CompleteMultipartUpload' : 'Other';
    case 'GET':
      return q.has('uploadId') ? 'Other' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return 'Other';
  }
}
