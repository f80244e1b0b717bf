import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Phone } from '../src/emulator/android/phone.ts';
import { RELEASES } from '../src/emulator/android/profile.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// The pm transcripts of test/fixtures/android/pm-<release>.txt (`$ command`, its exact stdout,
// `[exit N]`), replayed on a seeded phone of that release. The fixture's names are mapped to the
// phone's: its launcher com.android.launcher3 is com.example.launcher here, its appId 10234 is
// the phone's appId of com.example.notes, its session id the one install-create printed.

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'android');

interface Step {
  command: string;
  stdout: string;
  exit: number;
}

function transcript(release: number): Step[] {
  const text = readFileSync(path.join(FIXTURES, `pm-${release}.txt`), 'utf8');
  const steps: Step[] = [];
  for (const block of text.split(/^\$ /m).slice(1)) {
    const lines = block.split('\n');
    const exitAt = lines.findIndex((l) => /^\[exit \d+\]$/.test(l));
    steps.push({
      command: lines[0] as string,
      stdout: lines
        .slice(1, exitAt)
        .map((l) => `${l}\n`)
        .join(''),
      exit: Number(/\d+/.exec(lines[exitAt] as string)?.[0]),
    });
  }
  return steps;
}

const dirs: string[] = [];
const phones: Phone[] = [];
afterAll(async () => {
  for (const p of phones) await p.close();
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

describe.each([...RELEASES])('Android %i', (release) => {
  it('answers the pm transcript line for line', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `phone-transcript-${release}-`));
    dirs.push(dir);
    const phone = await startPhoneAs(path.join(dir, 'root'), release, { seedApps: true });
    phones.push(phone);
    const appId = /uid:(\d+)/.exec((await shell(phone, 'pm list packages -U com.example.notes')).stdout)?.[1] as string;
    let session = '';
    const steps = transcript(release);
    expect(steps.length).toBeGreaterThan(5);
    for (const step of steps) {
      const sessionInFixture =
        /\[(\d+)\]/.exec(step.stdout)?.[1] ?? /install-write -S \d+ (\d+)/.exec(step.command)?.[1];
      const map = (s: string) =>
        s
          .replaceAll('com.android.launcher3', 'com.example.launcher')
          .replaceAll('uid:1010234', `uid:10${appId}`)
          .replaceAll('uid:10234', `uid:${appId}`)
          .replaceAll(sessionInFixture && session ? sessionInFixture : '\0', session);
      const command = map(step.command);
      const size = /install-write -S (\d+)/.exec(command)?.[1];
      const r = await shell(phone, command, size ? Buffer.alloc(Number(size)) : undefined);
      if (step.command.startsWith('pm install-create')) session = /\[(\d+)\]/.exec(r.stdout)?.[1] ?? '';
      const expected = step.command.startsWith('pm install-create')
        ? step.stdout.replace(/\[\d+\]/, `[${session}]`)
        : map(step.stdout);
      expect({ command, stdout: r.stdout, exit: r.code }).toEqual({ command, stdout: expected, exit: step.exit });
    }
  });
});
