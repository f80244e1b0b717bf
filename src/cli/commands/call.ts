import type { Command } from 'commander';
import type { ActionDefinition } from '../../api/action.ts';
import { actions } from '../../api/actions/index.ts';
import { callAction, isErrorResult } from '../../api/client.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { fail, withCommonOptions } from '../common.ts';

const NAME = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/;

const EXAMPLES = `
Parameters are given as --Name value (or --Name=value). A repeated --Name, or --Name.1/--Name.2,
becomes a repeat list; lists of objects are --Tag.1.Key k --Tag.1.Value v.

Examples:
  $ cloudphone-backup call DescribeAndroidInstances
  $ cloudphone-backup call BackupApp --AndroidInstanceIdList acp-1 --SourceAppList com.a --SourceAppList com.b \\
      --BackupFilePath oss://bucket/backups/ --UploadEndpoint oss-cn-hangzhou.aliyuncs.com
  $ cloudphone-backup call DescribeTasks --TaskIds.1 t-123 --signature v1`;

/** `cloudphone-backup call <Action> [--Param value …]`: signs and sends any action, like `aliyun eds-aic`. */
export function registerCall(program: Command): void {
  withCommonOptions(program.command('call'))
    .description('sign and send one API action; prints the JSON response')
    .argument('<action>', 'the action, e.g. DescribeTasks')
    .option('--endpoint <url>', 'API endpoint (env CLOUDPHONE_ENDPOINT, default http://127.0.0.1:8080)')
    .option('--signature <version>', 'v3 (ACS3-HMAC-SHA256) or v1 (HMAC-SHA1)', 'v3')
    .option('--method <method>', 'GET or POST', 'POST')
    .option('--form', 'send the parameters as a form body instead of the query')
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', `${EXAMPLES}\n\nActions this service answers, with their parameters:\n${catalogue()}`)
    .action(async (action: string, flags: CallFlags, cmd: Command) => {
      const args = cmd.args[0] === action ? cmd.args.slice(1) : cmd.args;
      const params = parseApiParams(args);
      checkNames(action, params);
      await runCall(action, params, flags);
    });
}

export interface CallFlags {
  endpoint?: string;
  signature: string;
  method: string;
  form?: boolean;
}

/** signs and sends one action with the key from the environment; prints the JSON response */
export async function runCall(action: string, params: Record<string, string>, flags: CallFlags): Promise<void> {
  const accessKeyId = process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const accessKeySecret = process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  if (!accessKeyId || !accessKeySecret) {
    fail(
      'set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (`cloudphone-backup keys create` makes a pair)',
    );
  }
  const signature = flags.signature;
  if (signature !== 'v1' && signature !== 'v3') fail(`--signature must be v1 or v3, not ${signature}`);
  const method = flags.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST') fail(`--method must be GET or POST, not ${flags.method}`);
  const endpoint = flags.endpoint ?? process.env.CLOUDPHONE_ENDPOINT ?? 'http://127.0.0.1:8080';
  if (!/^https?:\/\/[^/?#]+\/?$/.test(endpoint)) fail(`the endpoint must look like http://host:port, not ${endpoint}`);

  let result: Awaited<ReturnType<typeof callAction>>;
  try {
    result = await callAction({
      endpoint,
      action,
      params,
      accessKeyId,
      accessKeySecret,
      signature,
      method,
      form: flags.form,
    });
  } catch (err) {
    // fetch says only "fetch failed"; the useful part (ECONNREFUSED, bad port, …) is the cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    fail(`cannot call ${endpoint}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = `${JSON.stringify(result.body, null, 2)}\n`;
  if (isErrorResult(result)) {
    process.stderr.write(text);
    process.exitCode = 1;
  } else {
    process.stdout.write(text);
  }
}

// The actions' own parameter specs (building them touches none of their dependencies), so a
// misspelt parameter is refused here instead of being ignored by the server.
const KNOWN: ReadonlyMap<string, ActionDefinition> = new Map(actions({} as ServiceDeps).map((a) => [a.name, a]));

function catalogue(): string {
  return [...KNOWN.values()].map((a) => `  ${a.name}: ${Object.keys(a.params).join(', ') || '(none)'}`).join('\n');
}

/** a parameter the action does not take is an error naming the ones it does (actions unknown here pass) */
export function checkNames(action: string, params: Record<string, string>): void {
  const def = KNOWN.get(action);
  if (!def) return;
  for (const key of Object.keys(params)) {
    const name = key.split('.')[0] as string;
    if (!Object.hasOwn(def.params, name)) {
      fail(`--${name} is not a parameter of ${action}; it takes ${Object.keys(def.params).join(', ') || 'none'}`);
    }
  }
}

/** `--A x --A y --B.1 z --C=w` → { 'A.1': x, 'A.2': y, 'B.1': z, C: w }. */
export function parseApiParams(args: readonly string[]): Record<string, string> {
  const values = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const token = args[i] ?? '';
    if (!token.startsWith('--')) fail(`unexpected argument ${JSON.stringify(token)}; parameters are --Name value`);
    const eq = token.indexOf('=');
    const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
    if (!NAME.test(name)) fail(`${JSON.stringify(`--${name}`)} is not a parameter name`);
    const value = eq < 0 ? args[++i] : token.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith('--'))) {
      fail(`--${name} needs a value (write --${name}=… if the value starts with --)`);
    }
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const params: Record<string, string> = {};
  const put = (key: string, value: string) => {
    // `--A x --A y` makes A.1 and A.2, which an explicit --A.1 would silently overwrite.
    if (Object.hasOwn(params, key)) fail(`the parameter ${key} is given twice`);
    params[key] = value;
  };
  for (const [name, list] of values) {
    if (list.length === 1) put(name, list[0] ?? '');
    else for (const [i, value] of list.entries()) put(`${name}.${i + 1}`, value);
  }
  return params;
}
