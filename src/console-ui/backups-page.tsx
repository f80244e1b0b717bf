import { useState } from 'preact/hooks';
import { call } from './api.ts';
import { BackupFilters, type Filters } from './backup-filters.tsx';
import { bytes, time } from './format.ts';
import type { BackupFile, BackupFilesAnswer } from './models.ts';
import { RestorePanel } from './restore-panel.tsx';
import { complain, tell } from './state.ts';
import { usePoll } from './use-poll.ts';

// The account's backup files through DescribeBackupFiles' filters and pages; each can be restored
// onto chosen instances or deleted.

const PAGE_SIZE = 20;

export function BackupsPage() {
  const [filters, setFilters] = useState<Filters>({});
  const [tokens, setTokens] = useState<string[]>([]); // NextTokens of the pages before this one
  const [restoring, setRestoring] = useState<BackupFile | null>(null);
  const [confirming, setConfirming] = useState('');
  const token = tokens[tokens.length - 1];
  const polled = usePoll(
    () => call<BackupFilesAnswer>('DescribeBackupFiles', { ...filters, MaxResults: PAGE_SIZE, NextToken: token }),
    2000,
    [filters, token],
  );
  const remove = async (id: string) => {
    setConfirming('');
    try {
      await call('DeleteBackupFile', { BackupFileIdList: [id] });
      tell(`Backup file ${id} deleted`);
      polled.refresh();
    } catch (err) {
      complain(err);
    }
  };
  const apply = (f: Filters) => {
    setFilters(f);
    setTokens([]);
  };
  const data = polled.data;
  return (
    <section>
      <BackupFilters onApply={apply} />
      {restoring && <RestorePanel file={restoring} onClose={() => setRestoring(null)} />}
      {polled.error && <p class="error">{polled.error.message}</p>}
      {data && (
        <>
          <div class="toolbar">
            <span>{data.TotalCount} backup file(s)</span>
            <button type="button" class="quiet" disabled={tokens.length === 0} onClick={() => setTokens([])}>
              First page
            </button>
            <button
              type="button"
              class="quiet"
              disabled={!data.NextToken}
              onClick={() => setTokens([...tokens, data.NextToken as string])}
            >
              Next page
            </button>
          </div>
          <table>
            <thead>
              <tr>
                <th>Backup file</th>
                <th>Instance</th>
                <th>Status</th>
                <th>Size</th>
                <th>Apps / paths</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.Data.map((f) => (
                <tr key={f.BackupFileId} data-backup-file-id={f.BackupFileId}>
                  <td>
                    <b>{f.BackupFileId}</b>
                    <div class="sub">{f.BackupFileName}</div>
                    <div class="sub">{f.BackupFilePath}</div>
                  </td>
                  <td class="nowrap">
                    {f.AndroidInstanceId}
                    <div class="sub">{f.SystemVersion}</div>
                  </td>
                  <td>
                    <span class={`status s-${f.Status}`}>{f.Status}</span>
                  </td>
                  <td>{bytes(f.FileSize)}</td>
                  <td class="apps">
                    {f.BackupAll ? 'whole instance' : [...f.SourceAppInfoList, ...f.SourceFilePathList].join(', ')}
                  </td>
                  <td>{time(f.GmtCreated)}</td>
                  <td>
                    <div class="row-actions">
                      <button type="button" onClick={() => setRestoring(f)}>
                        Restore…
                      </button>
                      {confirming === f.BackupFileId ? (
                        <button type="button" class="danger" onClick={() => void remove(f.BackupFileId)}>
                          Confirm delete
                        </button>
                      ) : (
                        <button type="button" class="quiet" onClick={() => setConfirming(f.BackupFileId)}>
                          Delete
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
