// DescribeBackupFiles' filters, as a form; what it gives is sent as the action's parameters.

const STATUSES = ['BACKUPING', 'AVAILABLE', 'PART_BACKUP_FINISHED', 'BACKUP_FAILED', 'RECOVERING', 'RECOVERY_FAILED'];
const TEXT_FILTERS = [
  ['BackupFileId', 'Backup file id'],
  ['BackupFileName', 'Name contains'],
  ['AndroidInstanceId', 'Instance id'],
  ['AndroidInstanceName', 'Instance name contains'],
  ['Description', 'Description contains'],
  ['InstanceGroupId', 'Instance group'],
  ['EndUserId', 'End user'],
  ['StartTime', 'Created from (yyyy-MM-dd HH:mm:ss)'],
  ['EndTime', 'Created to'],
] as const;

export type Filters = Record<string, string | string[]>;

export function BackupFilters({ onApply }: { onApply: (filters: Filters) => void }) {
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const filters: Filters = {};
    for (const [name] of TEXT_FILTERS) {
      const value = String(form.get(name) ?? '').trim();
      if (value) filters[name] = value;
    }
    const statuses = form.getAll('StatusList').map(String);
    if (statuses.length > 0) filters.StatusList = statuses;
    onApply(filters);
  };
  return (
    <form class="filters" onSubmit={submit} onReset={() => onApply({})} aria-label="filters">
      {TEXT_FILTERS.map(([name, label]) => (
        <label key={name}>
          {label}
          <input name={name} />
        </label>
      ))}
      <fieldset>
        <legend>Status</legend>
        {STATUSES.map((s) => (
          <label key={s} class="check">
            <input type="checkbox" name="StatusList" value={s} /> {s}
          </label>
        ))}
      </fieldset>
      <div class="actions">
        <button type="submit">Apply filters</button>
        <button type="reset" class="quiet">
          Clear
        </button>
      </div>
    </form>
  );
}
