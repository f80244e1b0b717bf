import { useState } from 'preact/hooks';
import { call } from './api.ts';
import type { StartedAnswer } from './models.ts';
import { complain, go, tell } from './state.ts';

// BackupApp for the selected instances: the apps (those earlier backups held are offered, any
// package can be typed), where to write the archives and under which name.

const DEFAULT_PATH = 'oss://backups/console/';
const DEFAULT_ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';

const packagesOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

export function BackupForm(props: { instanceIds: string[]; knownApps: string[]; onClose: () => void }) {
  const [apps, setApps] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const toggle = (pkg: string) => setApps(apps.includes(pkg) ? apps.filter((a) => a !== pkg) : [...apps, pkg]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const list = [...new Set([...apps, ...packagesOf(String(form.get('more') ?? ''))])];
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    setBusy(true);
    try {
      const started = await call<StartedAnswer>('BackupApp', {
        AndroidInstanceIdList: props.instanceIds,
        SourceAppList: list,
        BackupFilePath: text('path'),
        UploadEndpoint: text('endpoint'),
        BackupFileName: text('name'),
        Description: text('description'),
      });
      tell(`Backup of ${started.Count} instance(s) started: task ${started.TaskId}`);
      props.onClose();
      go('tasks');
    } catch (err) {
      complain(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-label="back up">
      <h2>Back up {props.instanceIds.join(', ')}</h2>
      <fieldset>
        <legend>Apps</legend>
        {props.knownApps.map((pkg) => (
          <label key={pkg} class="check">
            <input type="checkbox" checked={apps.includes(pkg)} onChange={() => toggle(pkg)} /> {pkg}
          </label>
        ))}
        <label>
          Packages (comma or space separated)
          <input name="more" placeholder="com.example.notes com.example.gallery" />
        </label>
      </fieldset>
      <label>
        BackupFilePath
        <input name="path" defaultValue={DEFAULT_PATH} required />
      </label>
      <label>
        UploadEndpoint
        <input name="endpoint" defaultValue={DEFAULT_ENDPOINT} required />
      </label>
      <label>
        BackupFileName (optional)
        <input name="name" />
      </label>
      <label>
        Description (optional)
        <input name="description" />
      </label>
      <div class="actions">
        <button type="submit" disabled={busy}>
          Start backup
        </button>
        <button type="button" class="quiet" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
