import type { Task, TaskType } from '../db/tasks-repo.ts';
import type { ServiceError } from '../errors.ts';

// The retry policy, as data per task type: a task that fails with a transient fault (a phone
// that dropped or refused the connection, a store's 5xx, throttling or reset; ServiceError
// .transient) runs again from the start after a capped exponential backoff with jitter, up to
// its attempt limit; any other fault fails it at once with its catalogue code. Re-running is safe:
// a backup starts by removing what an earlier attempt stored, a restore stages from scratch.

export interface RetryRule {
  /** runs in all, the first included (takeovers of a dead worker's task count too) */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

export type RetryPolicy = Record<TaskType, RetryRule>;

export function retryPolicy(baseMs: number, maxMs: number): RetryPolicy {
  return {
    BackupApp: { maxAttempts: 3, baseMs, maxMs },
    RecoverApp: { maxAttempts: 3, baseMs, maxMs },
  };
}

/** ms to wait before the next run, or null to fail now */
export function retryDelay(policy: RetryPolicy, task: Task, err: ServiceError, random = Math.random): number | null {
  const rule = policy[task.type];
  if (!err.transient || task.attempts >= rule.maxAttempts) return null;
  const ceiling = Math.min(rule.maxMs, rule.baseMs * 2 ** Math.max(0, task.attempts - 1));
  // "equal jitter": at least half the backoff, so retries from many phones spread out
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
