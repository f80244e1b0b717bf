import { signal } from '@preact/signals';
import type { RestoreVerdicts, Session } from './models.ts';

// The console's one way to the service: JSON to /console/api/…, with the session cookie (sent by
// the browser) and the session's CSRF token in X-CPB-CSRF. Errors arrive in the API's envelope.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** the signed-in session; null: signed out; undefined: not known yet (the page just loaded) */
export const session = signal<Session | null | undefined>(undefined);

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-cpb-csrf': session.value?.CsrfToken ?? '' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const code = String(data.Code ?? `HTTP${res.status}`);
    // the session ended (idle, signed out elsewhere, key deleted): back to the sign-in form
    if (code === 'ConsoleSessionRequired') session.value = null;
    throw new ApiError(code, String(data.Message ?? res.statusText), res.status);
  }
  return data as T;
}

/** any API action, run by the service's own handler with this session's account */
export const call = <T>(action: string, params: Record<string, unknown> = {}) =>
  request<T>('POST', `/console/api/actions/${action}`, params);

export const restoreVerdicts = (backupFileId: string, instanceIds: string[]) =>
  request<RestoreVerdicts>('POST', '/console/api/restore-verdicts', {
    BackupFileId: backupFileId,
    AndroidInstanceIdList: instanceIds,
  });

export async function signIn(accessKeyId: string, accessKeySecret: string): Promise<void> {
  session.value = await request<Session>('POST', '/console/api/session', {
    AccessKeyId: accessKeyId,
    AccessKeySecret: accessKeySecret,
  });
}

export async function resumeSession(): Promise<void> {
  try {
    session.value = await request<Session>('GET', '/console/api/session');
  } catch {
    session.value = null;
  }
}

export async function signOut(): Promise<void> {
  try {
    await request('DELETE', '/console/api/session');
  } finally {
    session.value = null;
  }
}
