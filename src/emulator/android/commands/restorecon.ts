import type { LabelStore } from '../labels.ts';
import type { AndroidProfile } from '../profile.ts';
import { Restorecon } from '../restorecon-walk.ts';
import type { PhoneRoot } from '../root-path.ts';
import type { AppLookup } from '../seapp.ts';
import type { Command } from './command.ts';
import { absolute, splitCwd } from './cwd.ts';
import { parseToyboxArgs, strerror, ToyboxUsage } from './toybox-args.ts';

// toybox restorecon (toys/android/restorecon.c, the same in 0.8.0 and 0.8.9): -D, -F, -R/-r, -n
// and -v become SELINUX_ANDROID_RESTORECON_* flags for selinux_android_restorecon()
// (restorecon-walk.ts); when it fails: perror_msg("restorecon failed: %s", file), exit 1.

export function restorecon(phone: PhoneRoot, labels: LabelStore, profile: AndroidProfile, apps: AppLookup): Command {
  return async (io) => {
    const { cwd, args } = splitCwd(io.args);
    let parsed: ReturnType<typeof parseToyboxArgs>;
    try {
      parsed = parseToyboxArgs('restorecon', args, { flags: 'DFnRrv', minArgs: 1 }, profile);
    } catch (err) {
      if (!(err instanceof ToyboxUsage)) throw err;
      io.err(`${err.message}\n`);
      return 1;
    }
    const f = parsed.flags;
    const flags = {
      recurse: f.has('R') || f.has('r'),
      force: f.has('F'),
      datadata: f.has('D'),
      nochange: f.has('n'),
      verbose: f.has('v'),
    };
    const walker = new Restorecon(phone, labels, apps, io.err);
    let status = 0;
    for (const file of parsed.operands) {
      const failure = await walker.run(absolute(cwd, file), flags).then(
        (ok) => (ok ? null : ''),
        (err) => `: ${strerror(err)}`,
      );
      if (failure !== null) {
        io.err(`restorecon: restorecon failed: ${file}${failure}\n`);
        status = 1;
      }
    }
    return status;
  };
}
