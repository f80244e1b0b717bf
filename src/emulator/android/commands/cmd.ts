import type { Command } from './command.ts';

// cmd SERVICE ARGS…: the binder shell-command entry that pm and am wrap on a phone, after
// frameworks/native/cmds/cmd/cmd.cpp: `-l` lists the services, an unknown one is
// `cmd: Can't find service: <name>` on stderr with exit 20 (as device logs show it verbatim).
export function cmd(services: Record<string, Command>): Command {
  return async (io) => {
    const [service, ...args] = io.args;
    if (service === undefined || service === '-l') {
      io.out(
        `Currently running services:\n${Object.keys(services)
          .map((s) => `  ${s}\n`)
          .join('')}`,
      );
      return 0;
    }
    const target = services[service];
    if (!target) {
      io.err(`cmd: Can't find service: ${service}\n`);
      return 20;
    }
    return target({ ...io, args });
  };
}
