import { SETTINGS_NAMESPACES, type SettingsNamespace } from '../../../android/settings.ts';
import type { SettingsStore } from '../settings-store.ts';
import type { Command } from './command.ts';

// settings (= cmd settings) get|put|delete|list, after SettingsService.MyShellCommand.onCommand
// (AOSP frameworks/base packages/SettingsProvider/src/com/android/providers/settings/
// SettingsService.java): `--user N` anywhere, verbs and namespaces case-insensitive, `list NS`
// prints sorted `name=value` lines and refuses --user, `get` prints the value or "null", `put`
// prints nothing, `delete` prints "Deleted N rows"; every refusal is one line on stderr and
// `return -1` (exit status 255). Only user 0 exists for settings here, as for the backup.
export function settings(store: SettingsStore): Command {
  return async ({ args, out, err }) => {
    const fail = (line: string) => {
      err(`${line}\n`);
      return 255;
    };
    let user: string | undefined;
    let verb: string | undefined;
    let ns: SettingsNamespace | undefined;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] as string;
      if (arg === '--user') {
        if (user !== undefined || args[i + 1] === undefined) return fail('Bad arguments');
        user = args[++i];
      } else if (verb === undefined) {
        verb = arg.toLowerCase();
        if (!['get', 'put', 'delete', 'list', 'reset'].includes(verb)) return fail(`Invalid command: ${arg}`);
      } else if (ns === undefined) {
        const lower = arg.toLowerCase();
        if (!(SETTINGS_NAMESPACES as readonly string[]).includes(lower)) return fail(`Invalid namespace '${arg}'`);
        ns = lower as SettingsNamespace;
      } else rest.push(arg);
    }
    if (verb === undefined || ns === undefined) return fail('Bad arguments');
    if (verb === 'reset') return fail('Unspecified command'); // not needed by anyone here
    const arity = { get: 1, delete: 1, list: 0, put: 2 }[verb] ?? 0;
    if (rest.length < arity) return fail('Bad arguments');
    if (rest.length > arity && verb !== 'put') return fail('Too many arguments');
    if (user !== undefined && (verb === 'list' || verb === 'delete'))
      return fail('--user not supported for delete and list.');
    if (user !== undefined && user !== '0' && user !== 'current' && user !== 'cur')
      return fail(`Invalid user: ${user}`);
    const table = store.read()[ns];
    const [key = '', value = ''] = rest;
    switch (verb) {
      case 'list':
        out(
          Object.entries(table)
            .map(([k, v]) => `${k}=${v}`)
            .sort()
            .map((l) => `${l}\n`)
            .join(''),
        );
        return 0;
      case 'get':
        out(`${table[key] ?? 'null'}\n`);
        return 0;
      case 'put':
        store.put(ns, key, value);
        return 0;
      default:
        out(`Deleted ${store.delete(ns, key)} rows\n`);
        return 0;
    }
  };
}
