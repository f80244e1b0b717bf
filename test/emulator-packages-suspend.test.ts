import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageServiceOf } from '../src/emulator/android/package-service.ts';
import type { Phone } from '../src/emulator/android/phone.ts';
import type { AndroidRelease } from '../src/emulator/android/profile.ts';
import { shell } from '../src/emulator/android/testing.ts';
import { startPhoneAs } from '../src/emulator/android/testing-release.ts';

// pm suspend / unsuspend as root: the suspending package is "root"; refusals answer `new
// suspended state: false` with exit 0; Android 11+ keeps one suspension per suspending package
// (root's unsuspend lifts only root's), Android 10 a single one that any unsuspend lifts.

const NOTES = 'com.example.notes';
const WELLBEING = 'com.google.android.apps.wellbeing';
const dirs: string[] = [];
const phones: Phone[] = [];

afterAll(async () => {
  for (const p of phones) await p.close();
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

async function phoneAs(release: AndroidRelease) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `phone-suspend-${release}-`));
  dirs.push(dir);
  const phone = await startPhoneAs(path.join(dir, 'root'), release, { seedApps: true });
  phones.push(phone);
  const sh = (c: string) => shell(phone, c);
  const userBlock = async (user: number) => {
    const dump = (await sh(`dumpsys package ${NOTES}`)).stdout;
    return dump.slice(dump.indexOf(`    User ${user}:`)).split(/\n {4}User \d+:/)[0] as string;
  };
  return { phone, sh, userBlock };
}

describe.each([10, 11, 12, 14] as const)('Android %i', (release) => {
  it('suspends as root and reports the new state; unknown packages fail on stdout with exit 1', async () => {
    const { sh, userBlock } = await phoneAs(release);
    expect(await sh(`pm suspend --user 0 ${NOTES}`)).toEqual({
      stdout: `Package ${NOTES} new suspended state: true\n`,
      stderr: '',
      code: 0,
    });
    const block = await userBlock(0);
    if (release === 10) {
      expect(block).toMatch(/^ {4}User 0: .* suspended=true suspendingPackage=root dialogInfo=null stopped=/);
      expect(block).not.toContain('Suspend params:');
    } else {
      expect(block).toMatch(/^ {4}User 0: .* suspended=true distractionFlags=0 stopped=/);
      expect(block).toContain('\n    Suspend params:\n      suspendingPackage=root dialogInfo=null\n');
    }
    // the Suspend params block comes before the runtime permissions, at the User line's depth
    expect(block.indexOf('runtime permissions:')).toBeGreaterThan(Math.max(0, block.indexOf('Suspend params:')));
    expect((await userBlock(10)).split('\n')[0]).toMatch(/ suspended=false /);
    expect(await sh('pm suspend --user 0 com.nope.missing')).toEqual({
      stdout: 'java.lang.IllegalArgumentException: Unknown target package: com.nope.missing\n',
      stderr: '',
      code: 1,
    });
    expect((await sh(`pm unsuspend --user 0 ${NOTES}`)).stdout).toBe(`Package ${NOTES} new suspended state: false\n`);
  });

  it('the default launcher is refused: state false, exit 0', async () => {
    const phone = phones.at(-1) as Phone;
    expect(await shell(phone, 'pm suspend --user 10 com.example.launcher')).toEqual({
      stdout: 'Package com.example.launcher new suspended state: false\n',
      stderr: '',
      code: 0,
    });
  });

  it("keeps or lifts another party's suspension as the release does", async () => {
    const phone = phones.at(-1) as Phone;
    const sh = (c: string) => shell(phone, c);
    const service = packageServiceOf(phone);
    expect(await service.suspendAs(NOTES, 0, WELLBEING)).toBe(true);
    expect((await sh(`pm suspend --user 0 ${NOTES}`)).stdout).toBe(`Package ${NOTES} new suspended state: true\n`);
    const dump = (await sh(`dumpsys package ${NOTES}`)).stdout;
    if (release === 10) {
      // one suspendingPackage: root's suspend replaced Digital Wellbeing's
      expect(dump).toContain(' suspended=true suspendingPackage=root dialogInfo=null ');
    } else {
      expect(dump).toContain(
        `\n    Suspend params:\n      suspendingPackage=${WELLBEING} dialogInfo=null\n      suspendingPackage=root dialogInfo=null\n`,
      );
    }
    const lifted = await sh(`pm unsuspend --user 0 ${NOTES}`);
    // 10: any unsuspend clears the one suspendingPackage; 11+: Digital Wellbeing's entry stays
    expect(lifted.stdout).toBe(`Package ${NOTES} new suspended state: ${release !== 10}\n`);
    const after = (await sh(`dumpsys package ${NOTES}`)).stdout;
    if (release === 10) expect(after).toMatch(/User 0: .* suspended=false /);
    else expect(after).toContain(`\n    Suspend params:\n      suspendingPackage=${WELLBEING} dialogInfo=null\n    `);
  });
});
