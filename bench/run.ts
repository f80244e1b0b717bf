import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

// `npm run bench`: runs every benchmark in one process, one after the other, and writes
// bench/RESULTS.md. Speed goals live here, not in timed unit tests.

const BENCHES = [
  './adb-throughput.ts',
  './backup-restore.ts',
  './node-floor.ts',
  './backup-parallel.ts',
  './restore-fanout.ts',
  './api-fuzz.ts',
  './fleet-postgres.ts',
  './describe-tasks.ts',
];

const sections: string[] = [];
for (const path of BENCHES) {
  const mod = (await import(path)) as { run: () => Promise<string> };
  process.stderr.write(`bench ${path}…\n`);
  sections.push(await mod.run());
}
const header = [
  '# Benchmark results',
  '',
  `Run ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  'Produced by `npm run bench`; numbers from one run vary by about ±15% on this kind of machine, so compare rows of one run.',
  '',
];
writeFileSync(join(import.meta.dirname, 'RESULTS.md'), `${[...header, ...sections].join('\n')}\n`);
process.stdout.write(`${sections.join('\n')}\n`);
