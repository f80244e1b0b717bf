import { useState } from 'preact/hooks';
import { call } from './api.ts';
import { BackupForm } from './backup-form.tsx';
import { time } from './format.ts';
import type { BackupFile, BackupFilesAnswer, InstancesAnswer } from './models.ts';
import { Bar } from './progress.tsx';
import { usePoll } from './use-poll.ts';

// Every instance of the account with its status, Android, ABI, last backup and live Rate; the
// selected ones can be backed up.

async function load() {
  const [instances, files] = await Promise.all([
    call<InstancesAnswer>('DescribeAndroidInstances', { MaxResults: 100 }),
    call<BackupFilesAnswer>('DescribeBackupFiles', { MaxResults: 100 }),
  ]);
  // newest first: the first file seen per instance is its last backup
  const last = new Map<string, BackupFile>();
  for (const f of files.Data) if (!last.has(f.AndroidInstanceId)) last.set(f.AndroidInstanceId, f);
  const apps = [...new Set(files.Data.flatMap((f) => f.SourceAppInfoList))].sort();
  return { instances: instances.InstanceModel, total: instances.TotalCount, last, apps };
}

export function InstancesPage() {
  const polled = usePoll(load, 1000);
  const [selected, setSelected] = useState<string[]>([]);
  const [backingUp, setBackingUp] = useState(false);
  const data = polled.data;
  if (!data) return <p class="loading">{polled.error ? polled.error.message : 'Loading…'}</p>;
  const toggle = (id: string) =>
    setSelected(selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id]);
  return (
    <section>
      <div class="toolbar">
        <span>
          {data.total} instance{data.total === 1 ? '' : 's'}, {selected.length} selected
        </span>
        <button type="button" disabled={selected.length === 0} onClick={() => setBackingUp(true)}>
          Back up selected…
        </button>
      </div>
      {backingUp && <BackupForm instanceIds={selected} knownApps={data.apps} onClose={() => setBackingUp(false)} />}
      <table>
        <thead>
          <tr>
            <th />
            <th>Instance</th>
            <th>Status</th>
            <th>Android</th>
            <th>ABI</th>
            <th>Last backup</th>
            <th>Rate</th>
          </tr>
        </thead>
        <tbody>
          {data.instances.map((i) => {
            const last = data.last.get(i.AndroidInstanceId);
            return (
              <tr key={i.AndroidInstanceId} data-instance-id={i.AndroidInstanceId}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${i.AndroidInstanceId}`}
                    checked={selected.includes(i.AndroidInstanceId)}
                    onChange={() => toggle(i.AndroidInstanceId)}
                  />
                </td>
                <td>
                  <b>{i.AndroidInstanceId}</b>
                  <div class="sub">{i.AndroidInstanceName}</div>
                </td>
                <td>
                  <span class={`status s-${i.AndroidInstanceStatus}`}>{i.AndroidInstanceStatus}</span>
                  {i.ErrorCode && <div class="sub error">{i.ErrorCode}</div>}
                </td>
                <td>{i.SystemVersion}</td>
                <td>{i.Abi}</td>
                <td>
                  {last ? (
                    <>
                      {time(last.GmtCreated)}
                      <div class="sub">
                        {last.BackupFileId} · {last.Status}
                      </div>
                    </>
                  ) : (
                    <span class="sub">never</span>
                  )}
                </td>
                <td class="rate">
                  <Bar value={i.Rate} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
