import { posix } from 'node:path';
import { CACHE_DIRS, cacheGid, DATA_PARTS, type DataPart, isExternalPart } from '../../android/layout.ts';
import { type Device, InstallFailed, type PackageInfo } from '../../devices/device.ts';
import { ERRORS } from '../../errors.ts';
import { failpoint } from '../../failpoints.ts';
import type { RestoreRun, StagedApp } from './stage-app.ts';

// The second half of a staged apply, for one app whose APKs and data are already on the phone:
// install the APK set (as an update in place when the target's copy allows it, so its uid and
// other users' data stay), then swap each staged part in by rename, give it to the app's uid,
// relabel it with the context Android gave the app's folder, and grant the saved permissions.
// A failed install leaves the app as it was; a failed swap puts the previous folders back.

// pm's answers when the target's copy cannot be updated in place (another signer, a newer version)
const REPLACE_CODES = new Set(['INSTALL_FAILED_UPDATE_INCOMPATIBLE', 'INSTALL_FAILED_VERSION_DOWNGRADE']);

export async function applyApp(run: RestoreRun, staged: StagedApp, warnings: string[]): Promise<void> {
  const { device } = run;
  const pkg = staged.app.package;
  const existing = await device.packageInfo(pkg);
  if (existing) await device.forceStop(pkg);
  await install(run, staged, existing, warnings);
  const info = await device.packageInfo(pkg);
  if (!info) throw ERRORS.deviceCommandFailed(run.instanceId, `${pkg} is not installed after its install session`);
  failpoint('restore:applying'); // installed, its data not yet swapped in
  await swapParts(device, staged, info);
  await grant(device, staged, info, warnings);
}

async function install(run: RestoreRun, staged: StagedApp, existing: PackageInfo | null, warnings: string[]) {
  const { device, signal } = run;
  const { app } = staged;
  let installer: string | undefined;
  if (app.installer && (await device.isInstalled(app.installer))) installer = app.installer;
  else if (app.installer) {
    warnings.push(`${app.package}: its installer ${app.installer} is not on the target, so none was recorded`);
  }
  try {
    await device.install(staged.apks, { installer, signal });
  } catch (err) {
    if (!(err instanceof InstallFailed) || !existing || !REPLACE_CODES.has(err.failureCode)) throw err;
    // uninstalling for user 0 would not help when the package stays, as it is, on the system
    // image or for other users: pm would refuse the install again
    const others = existing.installedUsers.filter((u) => u !== 0);
    const kept = existing.system
      ? 'is on the system image'
      : others.length
        ? `is installed for users ${others.join(', ')} too`
        : '';
    if (kept) {
      const msg = `${app.package} cannot replace the copy on the target (${err.failureCode}), which ${kept}; nothing was changed`;
      throw ERRORS.deviceCommandFailed(run.instanceId, msg);
    }
    // the only step of a restore that changes the target before the new copy is in: after it, a
    // failed install leaves the app uninstalled for user 0 (other users keep theirs)
    await device.uninstall(app.package);
    try {
      await device.install(staged.apks, { installer, signal });
    } catch (again) {
      const why = again instanceof Error ? again.message : String(again);
      const msg = `${app.package} could not be updated in place (${err.failureCode}), was uninstalled for user 0, and then failed to install: ${why}`;
      throw ERRORS.deviceCommandFailed(run.instanceId, msg);
    }
    warnings.push(`${app.package}: the target's copy could not be updated (${err.failureCode}); it was replaced`);
  }
}

interface Swapped {
  dir: string;
  trash: string | null;
}

async function swapParts(device: Device, staged: StagedApp, info: PackageInfo): Promise<void> {
  const swapped: Swapped[] = [];
  try {
    for (const part of DATA_PARTS) {
      const dir = info.dataDirs[part];
      const trash = staged.trash(part);
      const stage = staged.parts.get(part);
      if (!stage) {
        // what the backup did not have must not survive from the target's earlier copy
        if (isExternalPart(part) && (await device.move(dir, trash))) swapped.push({ dir, trash });
        continue;
      }
      const owner = await device.owner(isExternalPart(part) ? posix.dirname(dir) : dir);
      const moved = await device.move(dir, trash);
      await device.move(stage, dir);
      swapped.push({ dir, trash: moved ? trash : null });
      // the installer's `lib` link into the APK folder stays (the backup leaves it out)
      if (part === 'ce' && moved) await device.move(`${trash}/lib`, `${dir}/lib`);
      await giveToApp(device, dir, part, staged.app.sourceUid, info.uid);
      await device.relabel(dir, owner.context || undefined);
      failpoint('restore:swapping'); // one part is the backup's, the others still the target's
    }
  } catch (err) {
    for (const s of swapped.reverse()) {
      if (s.trash) await device.move(`${s.dir}/lib`, `${s.trash}/lib`).catch(() => false);
      await device.remove(s.dir).catch(() => {});
      if (s.trash) await device.move(s.trash, s.dir).catch(() => false);
    }
    throw err;
  }
}

async function giveToApp(device: Device, dir: string, part: DataPart, fromUid: number, uid: number) {
  if (isExternalPart(part)) {
    // shared storage mixes the app's uid with media_rw / ext_data_rw / ext_obb_rw: only the app's
    // own ids move (on Android 10's sdcardfs nothing is the app's, on 11+ the folder is uid:1078)
    const uids: [number, number][] = fromUid === uid ? [] : [[fromUid, uid]];
    const gids: [number, number][] =
      fromUid === uid
        ? []
        : [
            [fromUid, uid],
            [cacheGid(fromUid), cacheGid(uid)],
          ];
    await device.remapOwners(dir, uids, gids);
    return;
  }
  await device.chownTree(dir, uid, uid);
  for (const sub of CACHE_DIRS) {
    if (await device.exists(`${dir}/${sub}`)) await device.chownTree(`${dir}/${sub}`, uid, cacheGid(uid));
  }
}

/**
 * Makes user 0's runtime grants those of the backup: grants what it had granted, revokes what it
 * had not (an update in place keeps the target's earlier grants), and leaves alone what the
 * platform or a device policy fixed (SYSTEM_FIXED, POLICY_FIXED): PermissionManagerService makes
 * `pm grant` of one a silent no-op and `pm revoke` of one a SecurityException
 * (docs/android-differences.md), so a fixed permission the backup had granted is reported.
 */
async function grant(device: Device, staged: StagedApp, info: PackageInfo, warnings: string[]): Promise<void> {
  const pkg = staged.app.package;
  const wanted = new Set(staged.app.permissions);
  const states = new Map(info.runtimePermissions.map((p) => [p.name, p]));
  const fixed = (name: string) => states.get(name)?.flags.some((f) => f === 'SYSTEM_FIXED' || f === 'POLICY_FIXED');
  for (const permission of wanted) {
    if (states.get(permission)?.granted) continue;
    if (fixed(permission)) {
      warnings.push(`${pkg}: ${permission} is fixed by the target's policy and stays not granted`);
      continue;
    }
    await device.grantPermission(pkg, permission);
  }
  for (const state of info.runtimePermissions) {
    if (!state.granted || wanted.has(state.name) || fixed(state.name)) continue;
    await device.revokePermission(pkg, state.name);
  }
}
