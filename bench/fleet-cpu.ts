import { readdirSync, readFileSync } from 'node:fs';

// CPU seconds of process trees, read from /proc, so the fleet bench can say which group of
// processes used the cores. A tree's time is each member's own user + system time plus what its
// reaped children used (cutime, cstime): a sandboxed tar, a zstd child or a postgres backend
// shows in its parent's counters once it has been waited for, and in its own while it lives, so
// a child that ends between two samples is counted once either way.

const USER_HZ = 100;

/**
 * A phone's sandboxed commands outlive their parents: bwrap's outer process exits as soon as the
 * namespace's init reports the command's status, so that init is re-parented to PID 1 and its CPU
 * (the shell, tar, toybox) is reaped there, out of the phone's tree. Run under this child
 * subreaper (prctl PR_SET_CHILD_SUBREAPER), such orphans come back to it and are reaped into its
 * counters. It forwards SIGTERM/SIGINT to the command and exits with its status.
 */
export const SUBREAPER = `
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda n, _: os.kill(pid, n))
code = 1
while True:
    try:
        child, status = os.wait()
    except ChildProcessError:
        sys.exit(code)
    if child == pid:
        code = os.waitstatus_to_exitcode(status)
`;

interface Proc {
  ppid: number;
  /** its own user + system time and its reaped children's */
  ticks: number;
  /** its own only */
  own: number;
  /** when it started, in ticks since boot (with the pid, names one process) */
  start: number;
  comm: string;
}

function processes(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // it ended while the table was read
    }
    // the command name is in parentheses and may itself hold spaces or parentheses
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    // after the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14) … starttime(19)
    const [own, ticks] = [
      [11, 12],
      [11, 12, 13, 14],
    ].map((is) => is.reduce((n, i) => n + Number(fields[i] ?? 0), 0));
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    procs.set(Number(name), {
      ppid: Number(fields[1]),
      ticks: ticks ?? 0,
      own: own ?? 0,
      start: Number(fields[19]),
      comm,
    });
  }
  return procs;
}

/** CPU seconds so far of each group, a group being the process trees rooted at its pids */
export function sampleCpu(groups: Record<string, readonly number[]>): Record<string, number> {
  const procs = processes();
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const tree = (pid: number): number =>
    (procs.get(pid)?.ticks ?? 0) + (children.get(pid) ?? []).reduce((n, c) => n + tree(c), 0);
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) out[name] = pids.reduce((n, pid) => n + tree(pid), 0) / USER_HZ;
  return out;
}

/** kthreadd, whose tree is every kernel thread (namespace teardown, writeback, softirqs) */
export const KERNEL_THREADS = [2];

/**
 * CPU seconds PostgreSQL spends on one database, from its backends (each names its database in
 * its command line), sampled every 500 ms: the postmaster, into whose counters an ended backend's
 * time goes, serves every database of the server, some of them other people's. A backend that
 * starts and ends between two samples is missed; the pools keep theirs open while busy.
 */
export function watchBackends(database: string): { stop(): number } {
  const since = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * USER_HZ;
  const seen = new Map<string, { first: number; last: number }>();
  const sample = () => {
    for (const [pid, p] of processes()) {
      if (p.comm !== 'postgres') continue;
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmdline.includes(` ${database} `)) continue;
      const key = `${pid}@${p.start}`;
      const s = seen.get(key);
      if (s) s.last = p.own;
      else seen.set(key, { first: p.start >= since ? 0 : p.own, last: p.own });
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return [...seen.values()].reduce((n, s) => n + s.last - s.first, 0) / USER_HZ;
    },
  };
}

/** busy and total CPU seconds of the whole machine since boot, all cores (/proc/stat) */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal …
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((n, v) => n + (v ?? 0), 0);
  return { busy: busy / USER_HZ, total: (busy + (idle ?? 0) + (iowait ?? 0)) / USER_HZ };
}
