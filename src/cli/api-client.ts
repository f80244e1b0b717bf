import type { Command } from 'commander';
import { type CallResult, callAction, isErrorResult } from '../api/client.ts';
import { fail } from './common.ts';

// How every API-calling command (call, backup, restore, tasks …) reaches the service: the
// endpoint and signature flags, the key from the standard environment variables, and one line for
// a failure: the catalogue's Code and Message, or why the endpoint could not be reached.

export interface ApiFlags {
  endpoint?: string;
  signature: string;
  method?: string;
  form?: boolean;
}

export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'API endpoint (env CLOUDPHONE_ENDPOINT, default http://127.0.0.1:8080)')
    .option('--signature <version>', 'v3 (ACS3-HMAC-SHA256) or v1 (HMAC-SHA1)', 'v3');
}

export interface ApiClient {
  endpoint: string;
  /** the whole answer, errors included */
  send(action: string, params: Record<string, string>): Promise<CallResult>;
  /** the success body; an error answer ends the command with one line */
  call(action: string, params: Record<string, string>): Promise<Record<string, unknown>>;
}

export function apiClient(flags: ApiFlags): ApiClient {
  const accessKeyId = process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const accessKeySecret = process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  if (!accessKeyId || !accessKeySecret) {
    fail(
      'set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (`cloudphone-backup keys create` makes a pair)',
    );
  }
  const signature = flags.signature;
  if (signature !== 'v1' && signature !== 'v3') fail(`--signature must be v1 or v3, not ${signature}`);
  const version: 'v1' | 'v3' = signature;
  const method = (flags.method ?? 'POST').toUpperCase();
  if (method !== 'GET' && method !== 'POST') fail(`--method must be GET or POST, not ${flags.method}`);
  const endpoint = flags.endpoint ?? process.env.CLOUDPHONE_ENDPOINT ?? 'http://127.0.0.1:8080';
  if (!/^https?:\/\/[^/?#]+\/?$/.test(endpoint)) fail(`the endpoint must look like http://host:port, not ${endpoint}`);
  const send = async (action: string, params: Record<string, string>) => {
    try {
      const sign = { endpoint, action, params, accessKeyId, accessKeySecret, signature: version };
      return await callAction({ ...sign, method, form: flags.form });
    } catch (err) {
      // fetch says only "fetch failed"; the useful part (ECONNREFUSED, bad port, …) is the cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      fail(`cannot call ${endpoint}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  };
  return {
    endpoint,
    send,
    async call(action, params) {
      const result = await send(action, params);
      if (isErrorResult(result)) fail(`${action}: ${errorLine(result.body)}`);
      return result.body;
    },
  };
}

/** `Code: Message` of an error body (the service's catalogue), on one line */
export function errorLine(body: Record<string, unknown>): string {
  const message = String(body.Message ?? 'no message').replace(/\s+/g, ' ');
  return `${String(body.Code ?? 'Error')}: ${message}`;
}

/** `['a', 'b']` → `{ 'Name.1': 'a', 'Name.2': 'b' }` */
export function listParams(name: string, values: readonly string[]): Record<string, string> {
  return Object.fromEntries(values.map((v, i) => [`${name}.${i + 1}`, v]));
}
