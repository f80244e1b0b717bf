import type { TaskSnapshot } from './task-snapshot.ts';
import { formatBytes, formatSeconds } from './units.ts';

// The table a watched run ends with: one row per instance task, then the batch's outcome.

export interface SummaryInput {
  batch: TaskSnapshot | null;
  tasks: readonly TaskSnapshot[];
  /** per task id, what to show when it did not fail (e.g. the backup file it wrote) */
  details: ReadonlyMap<string, string>;
}

function seconds(t: TaskSnapshot): string {
  const start = Date.parse(t.StartTime);
  const end = Date.parse(t.FinishTime);
  return Number.isFinite(start) && Number.isFinite(end) ? formatSeconds((end - start) / 1000) : '-';
}

export function summaryTable({ batch, tasks, details }: SummaryInput): string {
  const header = ['INSTANCE', 'TASK', 'STATUS', 'BYTES', 'TIME', 'DETAIL'];
  const rows = tasks.map((t) => [
    t.InstanceId || '-',
    t.TaskId,
    t.TaskStatus,
    formatBytes(t.BytesDone),
    seconds(t),
    t.ErrorCode ? `${t.ErrorCode}: ${t.ErrorMsg.replace(/\s+/g, ' ')}` : (details.get(t.TaskId) ?? ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...rows.map(line)];
  const finished = tasks.filter((t) => t.TaskStatus === 'Finished').length;
  const failed = tasks.filter((t) => t.TaskStatus === 'Failed').length;
  const counts = `${finished} finished, ${failed} failed of ${tasks.length}`;
  if (batch) lines.push(`batch ${batch.TaskId}: ${batch.TaskStatus} (${counts})`);
  else lines.push(counts);
  return `${lines.join('\n')}\n`;
}
