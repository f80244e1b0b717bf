import { posix } from 'node:path';
import { DATA_PARTS, partFolder } from '../../android/layout.ts';
import { isPackageName } from '../../android/names.ts';
import type { Device } from '../../devices/device.ts';
import { APK_STAGING_DIR, STAGING_PREFIX } from './stage-app.ts';

// What a restore killed with its process leaves on the phone, undone before the next task uses
// it (the caller holds the phone: one task runs on a phone at a time). A restore's scratch is
// named `.cpb-<token>-<what>-<pkg>` (stage-app.ts): `new` folders are staged parts, `apk` folders
// staged APKs, `old` folders the target's own parts a swap moved aside. Every `old` folder is put
// back where it came from, replacing what was swapped in, so the target's data is as it was
// before the interrupted restore (the restore runs again from the start, or it failed and
// changed nothing but, perhaps, the APKs it installed as an update); the rest is removed.

const SCRATCH = /^\.cpb-[0-9a-f]{12}-(new|old|apk)-(.+)$/;

/** returns what it undid, for the task's log */
export async function undoInterruptedRestores(device: Device): Promise<string[]> {
  const undone: string[] = [];
  const parents = DATA_PARTS.map((part) => posix.dirname(partFolder('a.b', part)));
  const found = await device.namesIn([...parents, APK_STAGING_DIR], STAGING_PREFIX);
  for (const [i, part] of DATA_PARTS.entries()) {
    const parent = parents[i] as string;
    for (const name of found[i] ?? []) {
      const m = SCRATCH.exec(name);
      const [what, pkg] = [m?.[1], m?.[2]];
      if (!m || !isPackageName(pkg)) continue; // not ours: leave it
      const scratch = `${parent}/${name}`;
      if (what === 'old') {
        const dir = partFolder(pkg, part);
        // the installer's `lib` link went from the target's folder into the swapped-in one
        if (part === 'ce') await device.move(`${dir}/lib`, `${scratch}/lib`).catch(() => false);
        await device.remove(dir);
        await device.move(scratch, dir);
        undone.push(`${pkg}/${part}: the target's own folder put back`);
      } else {
        await device.remove(scratch);
        undone.push(`${pkg}/${part}: staging folder removed`);
      }
    }
  }
  for (const name of found[DATA_PARTS.length] ?? []) {
    if (!SCRATCH.test(name)) continue;
    await device.remove(`${APK_STAGING_DIR}/${name}`);
    undone.push(`${name}: staged APKs removed`);
  }
  return undone;
}
