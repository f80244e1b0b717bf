import type { Command } from 'commander';
import type { ActionDefinition } from '../../api/action.ts';
import { actions } from '../../api/actions/index.ts';
import { isErrorResult } from '../../api/client.ts';
import type { ServiceDeps } from '../../backup/service-deps.ts';
import { type ApiFlags, apiClient, withApiOptions } from '../api-client.ts';
import { fail, withCommonOptions } from '../common.ts';
import { followAnswer } from '../progress/follow-answer.ts';

const NAME = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/;

const EXAMPLES = `
Parameters are given as --Name value (or --Name=value). A repeated --Name, or --Name.1/--Name.2,
becomes a repeat list; lists of objects are --Tag.1.Key k --Tag.1.Value v.

Examples:
  $ cloudphone-backup call DescribeAndroidInstances
  $ cloudphone-backup call BackupApp --AndroidInstanceIdList acp-1 --SourceAppList com.a --SourceAppList com.b \\
      --BackupFilePath oss://bucket/backups/ --UploadEndpoint oss-cn-hangzhou.aliyuncs.com
  $ cloudphone-backup call DescribeTasks --TaskIds.1 t-123 --signature v1
  $ cloudphone-backup call RecoverApp --BackupFileId bf-… --AndroidInstanceIdList acp-2 --UploadType OSS --wait`;

/** `cloudphone-backup call <Action> [--Param value …]`: signs and sends any action, like `aliyun eds-aic`. */
export function registerCall(program: Command): void {
  withApiOptions(withCommonOptions(program.command('call')))
    .description('sign and send one API action; prints the JSON response')
    .argument('<action>', 'the action, e.g. DescribeTasks')
    .option('--method <method>', 'GET or POST', 'POST')
    .option('--form', 'send the parameters as a form body instead of the query')
    .option(
      '--wait',
      "for an action that starts tasks: show each instance task's progress until all end, then a summary (exit 1 if any failed)",
    )
    .option('--json', 'with --wait: print one JSON object (the answer, the batch and each task) when done, no progress')
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

export interface CallFlags extends ApiFlags {
  method: string;
  wait?: boolean;
  json?: boolean;
}

/** signs and sends one action with the key from the environment; prints the JSON response */
export async function runCall(action: string, params: Record<string, string>, flags: CallFlags): Promise<void> {
  const client = apiClient(flags);
  const result = await client.send(action, params);
  if (isErrorResult(result)) {
    process.stderr.write(`${JSON.stringify(result.body, null, 2)}\n`);
    process.exitCode = 1;
    return;
  }
  if (flags.wait && typeof result.body.TaskId !== 'string') {
    process.stderr.write(`cloudphone-backup: ${action} started no task; nothing to wait for\n`);
  }
  await followAnswer(client, result.body, { ...flags, wait: !!flags.wait });
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
