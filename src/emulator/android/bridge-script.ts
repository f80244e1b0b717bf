// /system/bin/cloudphone-bridge: pm, cmd, am, getprop, dumpsys, restorecon and chcon are links to it.
// Like binder calls into system_server on a phone, it hands argv to the emulator's system
// server over the unix socket /dev/socket/cloudphone and relays the reply.
//
// Request: "cloudphone/1 <command> <argc>\n", then "<byte length> <arg>\n" per argument, then
// stdin, only for installs that stream the APK from stdin (anything else would block on a shell's
// open stdin), exactly -S bytes when given; toybox nc half-closes the socket at the end of its stdin.
// Reply, one record per line: o/O stdout text with/without a newline, e/E the same for stderr,
// x<status> last. mksh runs every pipeline element in a subshell, so the decoding group exits
// with the status itself and that becomes the script's own.

export const SOCKET_DIR = '/dev/socket';
export const SOCKET_NAME = 'cloudphone';
export const BRIDGE_NAME = 'cloudphone-bridge';

export const BRIDGE_SCRIPT = `#!/system/bin/sh
set +U
S=
n=\${0##*/}
h="cloudphone/1 $n $#
"
for a in "$@"; do
  h="$h\${#a} $a
"
done

reads_stdin() {
  if [ "$n" = cmd ]; then [ "$1" = package ] || return 1; shift; elif [ "$n" != pm ]; then return 1; fi
  c=$1
  shift
  case $c in install|install-write) ;; *) return 1 ;; esac
  p=0
  l=
  while [ $# -gt 0 ]; do
    case $1 in
    -) p=$((p + 1)); l=- ;;
    -S) S=$2; shift ;;
    -i|-p|--user|--abi|--install-location|--originating-uri|--referrer|--pkg|--install-reason|--force-uuid) shift ;;
    -*) ;;
    *) p=$((p + 1)); l=$1 ;;
    esac
    [ $# -gt 0 ] && shift
  done
  [ "$l" = - ] && return 0
  if [ "$c" = install ]; then [ $p -eq 0 ]; else [ $p -eq 2 ]; fi
}

if reads_stdin "$@"; then
  # with -S read exactly that many bytes, as pm does: adb keeps stdin open while it waits for the answer
  { print -rn -- "$h"; if [ -n "$S" ]; then head -c "$S"; else cat; fi; } | toybox nc -U ${SOCKET_DIR}/${SOCKET_NAME}
else
  print -rn -- "$h" | toybox nc -U ${SOCKET_DIR}/${SOCKET_NAME}
fi | {
  rc=
  while IFS= read -r r; do
    case $r in
    o*) print -r -- "\${r#o}" ;;
    O*) print -rn -- "\${r#O}" ;;
    e*) print -ru2 -- "\${r#e}" ;;
    E*) print -rnu2 -- "\${r#E}" ;;
    x*) rc=\${r#x} ;;
    esac
  done
  [ -n "$rc" ] || { print -ru2 -- "$n: the system server did not answer"; rc=255; }
  exit $rc
}
`;
