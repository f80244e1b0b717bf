// A fuzz of the API in `npm test`: 5,000 random and mutated requests, validly signed and not,
// against the real service in a child process (bench/api-fuzz.ts runs the same with 100,000).
// FUZZ_SEED=<n> replays a run; FUZZ_REQUESTS=<n> changes its size.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatReport, runFuzz, type ServedTarget, startTarget } from '../bench/api-fuzz.ts';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

let target: ServedTarget;
beforeAll(async () => {
  target = await startTarget();
});
afterAll(() => target?.close());

it(`${REQUESTS} fuzzed requests: no 5xx, no lost answer, only envelopes, the service alive and bounded`, {
  timeout: 120_000,
}, async () => {
  console.log(`api fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays this run)`);
  const report = await runFuzz(target, { requests: REQUESTS, seed: SEED });
  console.log(formatReport(report));
  if (target.errorLogs.length) console.log(`service error log:\n${target.errorLogs.join('\n')}`);
  expect(report.died, `seed ${SEED}`).toBeNull();
  expect(report.requests).toBe(REQUESTS);
  expect(
    [...report.byStatus.keys()].filter((s) => s >= 500),
    `seed ${SEED}`,
  ).toEqual([]);
  expect(
    report.failures.map((f) => `#${f.i} ${f.problem}`),
    `seed ${SEED}`,
  ).toEqual([]);
  expect(target.errorLogs, `seed ${SEED}`).toEqual([]);
  // every code path of the API was reached, not just the signature check
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
});
