import type { Command } from './command.ts';

// toybox/bionic getprop: `getprop` lists "[name]: [value]" sorted; `getprop NAME [DEFAULT]` prints one value.
// The props are read at each call: some change while the phone runs (sys.user.0.ce_available).
export function getprop(props: () => Record<string, string>): Command {
  return async ({ args, out }) => {
    const current = props();
    const [name, fallback] = args;
    if (name === undefined) {
      const keys = Object.keys(current).sort();
      out(keys.map((k) => `[${k}]: [${current[k]}]\n`).join(''));
      return 0;
    }
    out(`${current[name] ?? fallback ?? ''}\n`);
    return 0;
  };
}
