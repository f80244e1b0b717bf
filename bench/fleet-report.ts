import { cpus } from 'node:os';
import { WORKER_DEFAULTS } from '../src/config.ts';
import type { Round } from './fleet-round.ts';

// The Markdown section of bench/fleet-postgres.ts, and what limits the fleet, said from the numbers.

export interface Setup {
  requests: number;
  phones: number;
  inFlight: number;
  cap: number;
  setupSeconds: number;
  /** one backup file's size */
  fileBytes: number;
  /** log lines of level warn and above from the APIs, workers and phones */
  warnings: string[];
}

const f = (n: number, d = 1) => n.toFixed(d);

export function report(rounds: Round[], o: Setup): string {
  const rows = rounds.map((r) => {
    const c = r.cores;
    const cores = [c.api, c.workers, c.phones, c.postgres, c.kernel, c.client, c.other].map((v) => f(v, 2)).join(' / ');
    return `| ${r.workers} | ${r.accepted} | ${f(r.acceptedPerSecond)} | ${f(r.p50, 0)} | ${f(r.p99, 0)} | ${f(r.tasksPerMinute)} | ${f(r.settleSeconds)} | ${f(r.meanRunSeconds, 2)} | ${r.accepted - r.finished} | ${cores} | ${f(r.machineBusy * 100, 0)}% |`;
  });
  const problems = rounds.flatMap((r) => [...r.refused, ...r.failures].map((p) => `- ${r.workers} worker(s): ${p}`));
  return [
    `## A fleet on PostgreSQL: ${o.phones} phones, 2 API processes, ${rounds.map((r) => r.workers).join(', ')} workers (bench/fleet-postgres.ts)`,
    '',
    `${o.requests} BackupApp calls per round, each for one of ${o.phones} emulated phones in turn (SourceAppList [com.example.gallery], the smallest seeded app with data: each backup file ${f(o.fileBytes / 1e3)} kB), sent ${o.inFlight} at a time, alternately to two \`serve --no-worker\` processes, while the round's \`worker\` processes (each at the default \`worker.concurrency\` ${WORKER_DEFAULTS.concurrency}) run them, one task per phone at a time. All share one PostgreSQL database and one data folder (the fs store); each round starts its workers afresh on the same database, after the last round's tasks all settled. \`server.maxPendingTasksPerInstance\` is raised to ${o.cap} for the bench (default 10) so that every call is accepted: a round queues ${o.cap} tasks per phone at once. Setup (phones, key, instances, APIs) took ${f(o.setupSeconds)} s.`,
    '',
    'Accepted req/s = accepted calls / time from the first call sent to the last answer; latency is per call, at the client. Tasks/min = tasks / time from the first accepted answer until DescribeTasks shows none Waiting or Processing (polled every 250 ms); Settle s is that time. Run s = mean StartTime → FinishTime of a task (whole seconds, so ±1). Cores = CPU seconds over the round (first call → all settled) / its wall time, for the process trees of the APIs, the workers (with their zstd children), the phones (adbd, the system server and every sandboxed command: each phone runs under a child subreaper, so the namespace inits bwrap orphans are counted, bench/fleet-cpu.ts), PostgreSQL (the backends serving the bench database), the kernel threads (namespace teardown among them), this client, and the rest of the busy time of the machine (its other users).',
    '',
    '| Workers | Accepted | Accepted req/s | p50 ms | p99 ms | Tasks/min | Settle s | Run s | Not finished | Cores: API / workers / phones / postgres / kernel / client / other | Machine busy |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(problems.length ? ['Refused calls and tasks that did not finish:', '', ...problems, ''] : []),
    `Log lines of level warn or above from the APIs, workers and phones: ${o.warnings.length}${o.warnings.length ? ':' : '.'}`,
    '',
    ...(o.warnings.length ? [...o.warnings.slice(0, 10).map((w) => `    ${w.slice(0, 300)}`), ''] : []),
    'What limits it, from the CPU figures: CPU milliseconds per task of each group, and the cores the fleet used of the machine:',
    '',
    ...rounds.map((r) => limit(r, o.phones)),
    '',
    verdict(rounds),
    '',
  ].join('\n');
}

function limit(r: Round, phones: number): string {
  const { other, ...own } = r.cores;
  const fleet = Object.values(own).reduce((n, v) => n + v, 0);
  const perTask = Object.entries(own)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${f((v * r.wallSeconds * 1000) / Math.max(1, r.accepted), 0)}`)
    .join(', ');
  const slots = Math.min(r.workers * WORKER_DEFAULTS.concurrency, phones);
  const all = cpus().length;
  return `- ${r.workers} worker(s), at most ${slots} tasks at once: ${perTask} ms per task; the fleet used ${f(fleet, 2)} of ${all} cores, other users of the machine ${f(other, 2)}, machine ${f(r.machineBusy * 100, 0)}% busy.`;
}

/** the conclusion the figures support: saturated cores or not, and who used them */
function verdict(rounds: Round[]): string {
  if (!rounds.length) return '';
  const rates = rounds.map((r) => r.tasksPerMinute);
  const saturated = rounds.every((r) => r.machineBusy >= 0.95);
  const own = (r: Round) => Object.entries(r.cores).filter(([k]) => k !== 'other');
  const fleet = (r: Round) => own(r).reduce((n, [, v]) => n + v, 0);
  const last = rounds[rounds.length - 1] as Round;
  const [top, used] = own(last).sort((a, b) => b[1] - a[1])[0] ?? ['?', 0];
  const cpuPerTask = (fleet(last) * last.wallSeconds) / Math.max(1, last.accepted);
  const share = `${top} used ${f((used / fleet(last)) * 100, 0)}% of the fleet's CPU in the last round`;
  const span = `${f(Math.min(...rates))}–${f(Math.max(...rates))} tasks/min`;
  return saturated
    ? `The ${cpus().length} cores were saturated in every round${rounds.length > 1 ? `, so more workers moved the same ${span}` : ` (${span})`}: the limit is CPU, and ${share}. At ${f(cpuPerTask, 2)} CPU seconds per task, these cores with nothing else running would do about ${f((cpus().length / cpuPerTask) * 60, 0)} tasks/min.`
    : `The cores were not saturated in every round (${span}); ${share}.`;
}
