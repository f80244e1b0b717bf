import type { Command } from './command.ts';

// toybox/bionic getprop: `getprop` lists "[name]: [value]" sorted; `getprop NAME [DEFAULT]` prints one value.
export function getprop(props: Record<string, string>): Command {
  return async ({ args, out }) => {
    const [name, fallback] = args;
    if (name === undefined) {
      const keys = Object.keys(props).sort();
      out(keys.map((k) => `[${k}]: [${props[k]}]\n`).join(''));
      return 0;
    }
    out(`${props[name] ?? fallback ?? ''}\n`);
    return 0;
  };
}
