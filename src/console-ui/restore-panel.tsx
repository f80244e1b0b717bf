import { useEffect, useState } from 'preact/hooks';
import { call, restoreVerdicts } from './api.ts';
import type { BackupFile, Instance, InstancesAnswer, RestoreVerdicts, StartedAnswer } from './models.ts';
import { complain, go, tell } from './state.ts';

// Restoring a backup onto chosen instances. As targets are chosen the service answers whether
// each may take the backup (the restore task's own compatibility rules); the restore starts only
// when every chosen target may.

/** the action that restores this kind of backup */
const restoreAction = (f: BackupFile) =>
  f.BackupAll ? 'RecoverAndroidInstance' : f.SourceFilePathList.length > 0 ? 'RecoveryFile' : 'RecoverApp';

export function RestorePanel({ file, onClose }: { file: BackupFile; onClose: () => void }) {
  const [instances, setInstances] = useState<Instance[]>([]);
  const [targets, setTargets] = useState<string[]>([]);
  const [verdicts, setVerdicts] = useState<RestoreVerdicts | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    call<InstancesAnswer>('DescribeAndroidInstances', { MaxResults: 100 })
      .then((a) => setInstances(a.InstanceModel))
      .catch(complain);
  }, []);
  useEffect(() => {
    setVerdicts(null);
    if (targets.length === 0) return;
    let current = true;
    restoreVerdicts(file.BackupFileId, targets)
      .then((v) => current && setVerdicts(v))
      .catch(complain);
    return () => {
      current = false;
    };
  }, [file.BackupFileId, targets]);
  const toggle = (id: string) => setTargets(targets.includes(id) ? targets.filter((t) => t !== id) : [...targets, id]);
  const verdictOf = (id: string) => verdicts?.targets.find((t) => t.instanceId === id);
  const ready = verdicts?.restorable === true && verdicts.targets.every((t) => t.compatible);
  const start = async () => {
    setBusy(true);
    try {
      const action = restoreAction(file);
      const started = await call<StartedAnswer>(action, {
        BackupFileId: file.BackupFileId,
        AndroidInstanceIdList: targets,
        UploadType: 'OSS',
      });
      tell(`${action} of ${file.BackupFileId} onto ${targets.join(', ')} started: task ${started.TaskId}`);
      onClose();
      go('tasks');
    } catch (err) {
      complain(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="panel" role="dialog" aria-label="restore">
      <h2>
        Restore {file.BackupFileId}{' '}
        <span class="sub">
          ({file.AndroidInstanceId}, {file.SystemVersion})
        </span>
      </h2>
      {verdicts && !verdicts.restorable && <p class="error">Not restorable now: {verdicts.reason}</p>}
      <ul class="targets">
        {instances.map((i) => {
          const v = verdictOf(i.AndroidInstanceId);
          return (
            <li key={i.AndroidInstanceId} data-target-id={i.AndroidInstanceId}>
              <label class="check">
                <input
                  type="checkbox"
                  checked={targets.includes(i.AndroidInstanceId)}
                  onChange={() => toggle(i.AndroidInstanceId)}
                />
                {i.AndroidInstanceId} <span class="sub">{`${i.SystemVersion} · ${i.Abi} · ${i.ImageId}`}</span>
              </label>
              {v && (
                <span class={`verdict ${v.compatible ? 'ok' : 'bad'}`}>
                  {v.compatible ? `✓ ${v.message}` : `✗ ${v.code}: ${v.message}`}
                </span>
              )}
            </li>
          );
        })}
      </ul>
      <div class="actions">
        <button type="button" disabled={!ready || busy} onClick={() => void start()}>
          Start restore
        </button>
        <button type="button" class="quiet" onClick={onClose}>
          Cancel
        </button>
      </div>
    </div>
  );
}
