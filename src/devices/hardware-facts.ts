// What a phone reports about its hardware, read in one shell round trip: online CPUs, RAM,
// display and network address. A fact the phone does not print in the form its source prints
// (a phone still booting has no window manager; one with no network has no global address) is
// null: unknown, never guessed.

export interface DisplayFacts {
  /** pixels: the override `wm size` reports if one is set, else the physical size */
  width: number;
  height: number;
  /** the override `wm density` reports if one is set, else the physical density */
  dpi: number;
}

export interface HardwareFacts {
  cpuCount: number | null;
  /** MemTotal of /proc/meminfo in MiB (what the kernel manages: a little below the RAM fitted) */
  memoryMb: number | null;
  display: DisplayFacts | null;
  /** the first IPv4 address of global scope, in interface order */
  networkIp: string | null;
}

/**
 * Each line's source:
 * - Linux prints one `processor\t: N` line per online CPU in /proc/cpuinfo (arch/arm64/kernel/
 *   cpuinfo.c c_show: "processor\t: %d\n"; arch/x86/kernel/cpu/proc.c show_cpuinfo: "processor\t: %u\n");
 * - fs/proc/meminfo.c meminfo_proc_show: `show_val_kb(m, "MemTotal:       ", i.totalram)` → "MemTotal:  N kB";
 * - `wm` is `cmd window "$@"` (frameworks/base cmds/wm/wm.sh, Android 10+), answered by
 *   WindowManagerShellCommand.printInitialDisplaySize / printInitialDisplayDensity: "Physical size: WxH",
 *   then "Override size: WxH" only when it differs; "Physical density: N", "Override density: N" likewise;
 * - `ip` is iproute2 (external/iproute2 ip/Android.bp builds /system/bin/ip); with -o, ip/ipaddress.c
 *   print_addrinfo prints "IDX: DEV    inet A.B.C.D/LEN [brd …] scope SCOPE …" one address a line.
 * stderr is not read: a command that is missing or fails leaves its fact null.
 */
export const HARDWARE_SCRIPT = [
  "echo cpus $(grep -c '^processor' /proc/cpuinfo)",
  'grep ^MemTotal: /proc/meminfo',
  'wm size',
  'wm density',
  'ip -o -4 addr show',
].join('; ');

export function parseHardware(stdout: string): HardwareFacts {
  const number = (re: RegExp) => {
    const m = re.exec(stdout);
    return m ? Number(m[1]) : null;
  };
  const cpus = number(/^cpus (\d+)$/m);
  const kib = number(/^MemTotal:\s+(\d+) kB$/m);
  const size = /^Override size: (\d+)x(\d+)$/m.exec(stdout) ?? /^Physical size: (\d+)x(\d+)$/m.exec(stdout);
  const [width, height] = size ? [Number(size[1]), Number(size[2])] : [0, 0];
  const dpi = number(/^Override density: (\d+)$/m) ?? number(/^Physical density: (\d+)$/m) ?? 0;
  return {
    cpuCount: cpus !== null && cpus > 0 ? cpus : null,
    memoryMb: kib !== null ? Math.floor(kib / 1024) : null,
    // a display the window manager does not know reads 0x0 and density -1
    display: width > 0 && height > 0 && dpi > 0 ? { width, height, dpi } : null,
    networkIp: firstGlobalIpv4(stdout),
  };
}

function firstGlobalIpv4(text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /^\d+: \S+\s+inet (\d{1,3}(?:\.\d{1,3}){3})\/\d{1,2} .*\bscope (\S+)/.exec(line);
    if (m?.[2] !== 'global') continue;
    const ip = m[1] as string;
    if (ip.split('.').every((o) => Number(o) <= 255)) return ip;
  }
  return null;
}
