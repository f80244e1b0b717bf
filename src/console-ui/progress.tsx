import { bytes, duration, percent, rate } from './format.ts';
import type { Task } from './models.ts';

// A task's progress bar with its bytes, the rate measured between polls and the time left at
// that rate. The rate is smoothed (exponential moving average) so one slow poll does not swing it.

interface Sample {
  at: number;
  done: number;
  rate: number;
}
const samples = new Map<string, Sample>();

function measure(task: Task): number {
  const now = performance.now();
  const last = samples.get(task.TaskId);
  let current = last?.rate ?? 0;
  if (last && task.BytesDone > last.done && now > last.at) {
    const instant = ((task.BytesDone - last.done) * 1000) / (now - last.at);
    current = last.rate > 0 ? 0.5 * last.rate + 0.5 * instant : instant;
  }
  if (!last || task.BytesDone !== last.done) samples.set(task.TaskId, { at: now, done: task.BytesDone, rate: current });
  return current;
}

const settled = (status: string) => status === 'Finished' || status === 'Failed' || status === 'PartFinished';

export function Bar({ value, label }: { value: number; label?: string }) {
  return (
    <div class="bar" role="progressbar" aria-valuenow={value} aria-valuemin={0} aria-valuemax={100}>
      <div class="bar-fill" style={{ width: `${value}%` }} />
      <span class="bar-label">{label ?? `${value} %`}</span>
    </div>
  );
}

export function TaskProgress({ task }: { task: Task }) {
  const finished = task.TaskStatus === 'Finished';
  const value = finished ? 100 : percent(task.BytesDone, task.BytesTotal);
  const speed = settled(task.TaskStatus) ? 0 : measure(task);
  const left = task.BytesTotal - task.BytesDone;
  return (
    <div class="progress">
      <Bar value={value} />
      <span class="progress-detail">
        {bytes(task.BytesDone)} / {bytes(task.BytesTotal)}
        {speed > 0 && ` · ${rate(speed)} · ETA ${duration(left / speed)}`}
      </span>
    </div>
  );
}
