import { BRIDGE_NAME } from './bridge-script.ts';

// Scripts in /system/bin that stand in front of a toybox applet or a system server command.
// They source the bridge script (bridge-script.ts) after putting the shell's working folder first
// in "$@", so the system server can resolve relative paths; $0 keeps the command's name, which
// is what the bridge sends. The bridge's last pipeline runs in a subshell, so `exit` follows.

const BRIDGE = `/system/bin/${BRIDGE_NAME}`;

/** chcon, restorecon: always the system server, which keeps the labels */
export const CWD_BRIDGE_SCRIPT = `#!/system/bin/sh
set -- "$PWD" "$@"
. ${BRIDGE}
exit
`;

/**
 * ls: toybox's, except when asked for -Z, which needs the labels. Any short option cluster
 * before `--` that holds a Z counts, as toybox lets options follow the operands.
 */
export const LS_SCRIPT = `#!/system/bin/sh
for a; do
  case $a in
  --) break ;;
  --*) ;;
  -*Z*) set -- "$PWD" "$@"; . ${BRIDGE}; exit ;;
  esac
done
exec toybox ls "$@"
`;
