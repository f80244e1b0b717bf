import type { Task } from '../db/tasks-repo.ts';
import type { ServiceError } from '../errors.ts';

// The retry policy as data: a task that fails with a transient fault (a phone that dropped or
// refused the connection, a store's 5xx, throttling, reset or stall; ServiceError.transient)
// runs again from the start after a capped exponential backoff with jitter, up to its type's
// attempt limit (defineTask's `retry`); any other fault fails it at once with its catalogue
// code. Re-running must be safe for every task type (each definition says why it is).

export interface RetryRule {
  /** runs in all, the first included (takeovers of a dead worker's task count too) */
  maxAttempts: number;
}

/** the backoff, shared by every task type (config: worker.retryBaseMs / worker.retryMaxMs) */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** ms to wait before the next run, or null to fail now */
export function retryDelay(
  rule: RetryRule,
  backoff: Backoff,
  task: Task,
  err: ServiceError,
  random = Math.random,
): number | null {
  if (!err.transient || task.attempts >= rule.maxAttempts) return null;
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, task.attempts - 1));
  // "equal jitter": at least half the backoff, so retries from many phones spread out
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
