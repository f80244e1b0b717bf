import { RESTORABLE_STATUSES } from '../db/backup-files-repo.ts';
import type { Instance } from '../db/instances-repo.ts';
import { ERRORS, ServiceError } from '../errors.ts';
import { type InstanceFacts, instanceFactsSchema } from './archive/manifest.ts';
import { checkCompatibility } from './compatibility.ts';
import { loadInstances } from './request-backup.ts';
import type { ServiceDeps } from './service-deps.ts';

// Whether a backup may be restored onto each of some targets, answered before anything starts
// (the console shows it next to the restore button). The same rules the restore task applies
// (checkCompatibility), on what each target last reported (when added and at each task's start);
// the task checks again with what the phone says when it runs, so a phone changed since can
// still be refused then.

export interface RestoreVerdict {
  instanceId: string;
  compatible: boolean;
  /** the ErrorCode the restore would fail with (ImageIdMismatch, AbiMismatch, …), '' when compatible */
  code: string;
  message: string;
}

export interface RestoreVerdicts {
  backupFileId: string;
  /** the file can be restored from now (complete, not being written or deleted) */
  restorable: boolean;
  reason: string;
  targets: RestoreVerdict[];
}

export async function restoreVerdicts(
  deps: ServiceDeps,
  account: string,
  backupFileId: string,
  instanceIds: string[],
): Promise<RestoreVerdicts> {
  const file = await deps.db.backupFiles.get(account, backupFileId);
  if (!file) throw ERRORS.backupFileNotFound(backupFileId);
  const targets = await loadInstances(deps, account, instanceIds, 'AndroidInstanceIdList');
  const restorable = RESTORABLE_STATUSES.includes(file.status) && file.manifest !== null;
  const reason = restorable ? '' : `backup file ${file.id} is ${file.status}`;
  const recorded = file.manifest ? recordedFacts(file.manifest) : null;
  return {
    backupFileId: file.id,
    restorable,
    reason,
    targets: targets.map((t) => verdict(recorded, t)),
  };
}

/** the source instance's facts and whether the archive holds apps (path-only backups are not checked) */
function recordedFacts(manifest: string): { instance: InstanceFacts; hasApps: boolean } {
  const parsed = JSON.parse(manifest) as { instance?: unknown; apps?: unknown[] };
  return { instance: instanceFactsSchema.parse(parsed.instance), hasApps: (parsed.apps?.length ?? 0) > 0 };
}

function verdict(recorded: { instance: InstanceFacts; hasApps: boolean } | null, target: Instance): RestoreVerdict {
  const instanceId = target.id;
  if (!recorded) return { instanceId, compatible: false, code: '', message: 'The backup is not complete yet.' };
  if (!recorded.hasApps) {
    return { instanceId, compatible: true, code: '', message: 'A backup of paths only: no app rules apply.' };
  }
  try {
    checkCompatibility(recorded.instance, targetFacts(target));
    return { instanceId, compatible: true, code: '', message: 'Compatible.' };
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    return { instanceId, compatible: false, code: err.code, message: err.message };
  }
}

/** what the restore task reads from the phone (instanceFacts), as the phone last reported it */
function targetFacts(i: Instance): InstanceFacts {
  return {
    id: i.id,
    name: i.name,
    imageId: i.imageId,
    imageVersion: i.imageVersion,
    imageType: i.imageType,
    instanceType: i.instanceType,
    abi: i.abi,
    sdk: i.sdk,
    androidVersion: i.androidVersion,
    fingerprint: i.fingerprint,
  };
}
