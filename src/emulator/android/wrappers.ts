import { BRIDGE_NAME } from './bridge-script.ts';

// Scripts in /system/bin that stand in front of a toybox applet or a system server command.
// They source the bridge script (bridge-script.ts) after putting the shell's working folder first
// in "$@", so the system server can resolve relative paths; $0 keeps the command's name, which
// is what the bridge sends. The bridge's last pipeline runs in a subshell, so `exit` follows.

const BRIDGE = `/system/bin/${BRIDGE_NAME}`;

/** wm: Android 10+'s own script, frameworks/base cmds/wm/wm.sh (an sh_binary in cmds/wm/Android.bp) */
export const WM_SCRIPT = `#!/system/bin/sh
cmd window "$@"
`;

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
/**
 * du on Android 10: toybox 0.8.0's optstring is "d#<0=-1hmlcaHkKLsx[-HL][-kKmh]" (toys/posix/du.c
 * 0.8.0:9; -b came in commit cc803fb5, 2019-12-10, after Android 10's snapshot). Its args.c
 * rejects any other letter, -b included, with help_exit("Unknown option %s", rest of the
 * cluster), unquoted before commit 2eefbe41 (0.8.1), exit 1; -d takes the rest of its cluster or
 * the next argument as its value. What 0.8.0 accepts is then run by toybox 0.8.9's du.
 */
export const DU_0_8_0_SCRIPT = `#!/system/bin/sh
skip=
for a; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case $a in
  --) break ;;
  -|--help|--version|[!-]*) continue ;;
  --*) print -ru2 -- "du: Unknown option \${a#--} (see \\"du --help\\")"; exit 1 ;;
  esac
  rest=\${a#-}
  while [ -n "$rest" ]; do
    c=\${rest%"\${rest#?}"}
    case $c in
    d) [ -z "\${rest#d}" ] && skip=1; break ;;
    [hmlcaHkKLsx]) ;;
    *) print -ru2 -- "du: Unknown option $rest (see \\"du --help\\")"; exit 1 ;;
    esac
    rest=\${rest#?}
  done
done
exec toybox du "$@"
`;
