import { type SignOptions, signRequest } from './signing/sign-request.ts';

export interface CallResult {
  status: number;
  body: Record<string, unknown>;
}

/** Signs and sends one API call; the body is whatever JSON object the server answered. */
export async function callAction(options: SignOptions, signal?: AbortSignal): Promise<CallResult> {
  const request = signRequest(options);
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${request.url.split('?')[0]} answered HTTP ${response.status} with a non-JSON body`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error(`The server answered HTTP ${response.status} with JSON that is not an object`);
  }
  return { status: response.status, body: body as Record<string, unknown> };
}

/** Errors are HTTP 4xx/5xx with a Code in the body; either half marks a failure. */
export function isErrorResult(result: CallResult): boolean {
  return result.status >= 400 || typeof result.body.Code === 'string';
}
