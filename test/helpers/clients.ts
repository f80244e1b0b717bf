import { createRequire } from 'node:module';
import type OpenApiCore from '@alicloud/openapi-core';
import RPCClient from '@alicloud/pop-core';
import * as $dara from '@darabonba/typescript';

// The real Alibaba client libraries, configured as users configure them, behind one call shape.

export type Call = (action: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>;
export type ClientKind = 'pop-core GET' | 'pop-core POST' | 'openapi-core V3' | 'openapi-core v2';
export const CLIENT_KINDS: ClientKind[] = ['pop-core GET', 'pop-core POST', 'openapi-core V3', 'openapi-core v2'];

// CommonJS with the class on `default`: required, so every loader sees the same shape
const openApiCore: typeof OpenApiCore = createRequire(import.meta.url)('@alicloud/openapi-core');
const { default: OpenApi, $OpenApiUtil, OpenApiUtil } = openApiCore;

export function client(
  kind: ClientKind,
  url: string,
  key: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
): Call {
  if (kind.startsWith('pop-core')) {
    const rpc = new RPCClient({ endpoint: url, apiVersion: '2023-09-30', ...key });
    const method = kind === 'pop-core POST' ? 'POST' : 'GET';
    // pop-core flattens arrays itself (`Name.1`, `Name.2`)
    return (action, params) => rpc.request<Record<string, unknown>>(action, params, { method });
  }
  const config = new $OpenApiUtil.Config({
    ...key,
    endpoint: new URL(url).host,
    protocol: 'http',
    ...(kind === 'openapi-core v2' ? { signatureAlgorithm: 'v2' } : {}),
  });
  const api = new OpenApi(config);
  // exactly what the generated eds-aic SDK does: POST, every parameter in the query
  return async (action, params) => {
    const request = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(params) });
    const spec = new $OpenApiUtil.Params({
      action,
      version: '2023-09-30',
      protocol: 'HTTP',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const res = await api.callApi(spec, request, new $dara.RuntimeOptions({}));
    return res.body as Record<string, unknown>;
  };
}
