import { SETTLED_STATUSES, type TaskStatus } from '../../db/tasks-repo.ts';

// A task as the CLI watches it (DescribeTasks' Data item, the fields it shows), and the rate and
// ETA it derives from successive samples of its bytes.

export interface TaskSnapshot {
  TaskId: string;
  ParentTaskId: string;
  Level: number;
  TaskType: string;
  TaskStatus: TaskStatus;
  InstanceId: string;
  StartTime: string;
  FinishTime: string;
  Result: string;
  ErrorCode: string;
  ErrorMsg: string;
  BytesDone: number;
  BytesTotal: number;
}

export const isSettled = (t: Pick<TaskSnapshot, 'TaskStatus'>): boolean =>
  (SETTLED_STATUSES as readonly string[]).includes(t.TaskStatus);

/** rate over the last few seconds of samples, so a stall shows as a falling rate */
export class RateMeter {
  private readonly samples = new Map<string, Array<{ at: number; bytes: number }>>();

  constructor(private readonly windowMs = 5_000) {}

  add(id: string, bytes: number, at = Date.now()): void {
    const list = this.samples.get(id) ?? [];
    if (list.length && (list.at(-1)?.bytes ?? 0) > bytes) list.length = 0; // a retry starts over
    list.push({ at, bytes });
    while (list.length > 2 && at - (list[0]?.at ?? at) > this.windowMs) list.shift();
    this.samples.set(id, list);
  }

  /** bytes per second, 0 until there are two samples */
  rate(id: string): number {
    const list = this.samples.get(id) ?? [];
    const first = list[0];
    const last = list.at(-1);
    if (!first || !last || last.at === first.at) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  /** seconds left at the current rate, or null when it cannot be told */
  eta(id: string, done: number, total: number): number | null {
    const rate = this.rate(id);
    return rate > 0 && total >= done ? (total - done) / rate : null;
  }
}
