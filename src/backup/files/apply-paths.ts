import { posix } from 'node:path';
import type { Device } from '../../devices/device.ts';
import { ERRORS } from '../../errors.ts';
import { failpoint } from '../../failpoints.ts';
import type { PathRun, StagedPath } from './stage-paths.ts';

// The second half of a file restore, one staged path at a time: the target's current entry (if
// any) is renamed aside, the staged one renamed into place, and the path itself given the
// backup's owner, mode and label (chcon -hR: the entries below keep tar's owners, modes and
// mtimes, and take the path's label, as the backup recorded only the path's own). What the
// backup excluded is not in it, so the target keeps its own: each excluded entry the target has
// is moved into the restored folder (and the mtime of the folder it lands in set back). A failure puts everything back, so each path is the
// backup's or as it was.

export async function applyPath(run: PathRun, s: StagedPath): Promise<void> {
  const { device } = run;
  const target = s.path.path;
  const moved = await device.move(target, s.trash);
  try {
    if (!(await device.move(s.staged, target))) {
      throw ERRORS.deviceCommandFailed(run.instanceId, `the staged copy of ${target} is gone`);
    }
    const { uid, gid, mode, mtime } = s.path;
    await device.setAttributes(target, { owner: { uid, gid }, mode });
    // a backup from a phone without SELinux has no label to give: the target's policy decides
    await device.relabel(target, s.path.context || undefined);
    if (moved) await keepExcluded(run, s, target);
    failpoint('restore:path-swapped'); // the backup's copy in place with the target's excluded entries, its own aside
    // last: each entry moved into the folder changed its mtime
    await device.setAttributes(target, { mtime });
  } catch (err) {
    // an excluded entry in the restored folder can only be the target's own, carried there
    if (moved) await putBack(device, target, s.trash, s.path.excludes);
    await device.remove(target).catch(() => {});
    if (moved) await device.move(s.trash, target).catch(() => false);
    throw err;
  }
}

/** moves the target's own excluded entries (now in the trash) into the restored folder */
async function keepExcluded(run: PathRun, s: StagedPath, target: string): Promise<void> {
  const { device } = run;
  for (const rel of s.path.excludes) {
    if (!(await device.exists(`${s.trash}/${rel}`))) continue;
    const parent = posix.dirname(`${target}/${rel}`);
    if (!(await device.exists(parent))) {
      const why = `the target's ${target}/${rel}, excluded from the backup, has no folder ${parent} in it to stay in`;
      throw ERRORS.deviceCommandFailed(run.instanceId, `cannot restore ${target}: ${why}`);
    }
    const before = parent === target ? null : await device.inspectPath(parent);
    await device.move(`${s.trash}/${rel}`, `${target}/${rel}`);
    if (before) await device.setAttributes(parent, { mtime: before.mtime });
  }
}

/** the excluded entries moved into `target`, back into `trash` (a failed apply, a killed restore) */
export async function putBack(device: Device, target: string, trash: string, excludes: readonly string[]) {
  for (const rel of [...excludes].reverse()) {
    if (await device.exists(`${trash}/${rel}`)) continue;
    await device.move(`${target}/${rel}`, `${trash}/${rel}`).catch(() => false);
  }
}

/** the staging and trash entries of every path, removed whatever happened */
export async function removePathScratch(run: PathRun, staged: StagedPath[]): Promise<void> {
  for (const s of staged) {
    await run.device.remove(s.stage).catch(() => {});
    await run.device.remove(s.trash).catch(() => {});
  }
}
