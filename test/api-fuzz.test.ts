// A fuzz of the API in `npm test`: random and mutated requests, validly signed and not, against
// the real service in a child process (bench/api-fuzz.ts runs the same with 100,000): 5,000 with
// its metadata in SQLite, 2,500 more in PostgreSQL, which refuses what SQLite takes (a NUL in text).
// FUZZ_SEED=<n> replays a run; FUZZ_REQUESTS=<n> changes the size of the SQLite run.
import { afterEach, describe, expect, it } from 'vitest';
import { type FuzzReport, formatReport, runFuzz, type ServedTarget, startTarget } from '../bench/api-fuzz.ts';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const POSTGRES = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let target: ServedTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

function expectClean(report: FuzzReport, served: ServedTarget, requests: number) {
  const seed = `seed ${SEED}`;
  console.log(formatReport(report));
  if (served.errorLogs.length) console.log(`service error log:\n${served.errorLogs.join('\n')}`);
  expect(report.died, seed).toBeNull();
  expect(report.requests).toBe(requests);
  expect(
    [...report.byStatus.keys()].filter((s) => s >= 500),
    seed,
  ).toEqual([]);
  expect(
    report.failures.map((f) => `#${f.i} ${f.problem}`),
    seed,
  ).toEqual([]);
  expect(served.errorLogs, seed).toEqual([]);
  // the fuzz reached the actions, not just the signature check
  for (const code of [
    'OK',
    'InvalidParameter',
    'MissingParameter',
    'SignatureDoesNotMatch',
    'InvalidAction.NotFound',
  ]) {
    expect(
      [...report.byCode.keys()].some((k) => k.endsWith(` ${code}`)),
      code,
    ).toBe(true);
  }
  // bounded: the service's memory does not grow with the number of requests
  expect(report.rss.end - report.rss.start, 'RSS growth in MiB').toBeLessThan(150);
  expect(report.rss.peak, 'RSS high-water mark in MiB').toBeLessThan(600);
}

describe(`api fuzz, seed ${SEED} (FUZZ_SEED=${SEED} replays it)`, () => {
  it(`${REQUESTS} requests on SQLite: no 5xx, no lost answer, only envelopes, the service alive and bounded`, {
    timeout: 120_000,
  }, async () => {
    console.log(`api fuzz on SQLite: seed ${SEED}`);
    target = await startTarget();
    const report = await runFuzz(target, { requests: REQUESTS, seed: SEED });
    expectClean(report, target, REQUESTS);
    // the per-phone cap on queued tasks was reached and refused calls
    expect(report.byCode.get('409 TooManyPendingTasks') ?? 0).toBeGreaterThan(0);
  });

  it('2,500 more on PostgreSQL, the same way', { timeout: 120_000 }, async () => {
    console.log(`api fuzz on PostgreSQL: seed ${SEED}, requests from #${REQUESTS}`);
    target = await startTarget({ databaseUrl: POSTGRES });
    const report = await runFuzz(target, { requests: 2500, seed: SEED, from: REQUESTS });
    expectClean(report, target, 2500);
  });
});
