import { readFileSync } from 'node:fs';

// `npx tsx bench/profile-summary.ts FILE.cpuprofile [LAST_SECONDS[:UNTIL]] [ROWS]`: where a V8 CPU
// profile (BENCH_CPU_PROF=DIR npx tsx bench/backup-restore.ts) spent its time, by function, self
// and inclusive; LAST_SECONDS keeps only the end of the run (a restore is the last thing a
// backup-restore run does), and `:UNTIL` stops that many seconds before the end (so `25:10` is
// the 15 s before a 10 s restore). Samples taken while the machine was overloaded count the time a
// process waited for a core against whatever it was running then.

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, lastArg, rowsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [LAST_SECONDS[:UNTIL]] [ROWS]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const rows = Number(rowsArg ?? 25);
const [last, until] = (lastArg ?? '').split(':').map(Number);
const from = last ? p.endTime - last * 1e6 : p.startTime;
const to = p.endTime - (until ?? 0) * 1e6;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n: Node) => {
  const f = n.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.split('/').at(-1) ?? ''}:${f.lineNumber}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let at = p.startTime;
for (let i = 0; i < p.samples.length; i++) {
  at += p.timeDeltas[i] ?? 0;
  if (at < from || at > to) continue;
  const ms = (p.timeDeltas[i + 1] ?? 0) / 1000;
  const leaf = byId.get(p.samples[i] as number) as Node;
  total += ms;
  self.set(name(leaf), (self.get(name(leaf)) ?? 0) + ms);
  const seen = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const key = name(byId.get(id) as Node);
    if (seen.has(key)) continue; // recursion counts once
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
  }
}

const top = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
    .map(([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
process.stdout.write(
  [`${total.toFixed(0)} ms sampled`, '-- self', ...top(self), '-- inclusive', ...top(inclusive), ''].join('\n'),
);
