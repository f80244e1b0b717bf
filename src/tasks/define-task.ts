import type { z } from 'zod';
import type { Task, TaskType } from '../db/tasks-repo.ts';
import type { RetryRule } from './retry-policy.ts';
import type { TaskContext } from './task-queue.ts';

// A task type, typed end to end like defineAction is for API actions: its params' schema, its
// retry rule, what it does, and what its start and end imply for the rest of the state. The
// runner applies onClaimed and onSettled in the very transaction that claims or settles the task
// (TaskStore), so a crash can never separate a task's status from the statuses it implies.

export interface TaskDefinition<Deps, Tx, P, R> {
  type: TaskType;
  params: z.ZodType<P>;
  retry: RetryRule;
  /** in the claim's transaction; must not throw for a state it can live with (run refuses it) */
  onClaimed(tx: Tx, task: Task, params: P): Promise<void>;
  /** the work; throw a ServiceError to fail with its code. Must be safe to run again from the start */
  run(deps: Deps, task: Task, params: P, ctx: TaskContext): Promise<R>;
  /** what DescribeTasks shows as the task's Result (default: the whole return value) */
  result?(value: R): unknown;
  /** in the settle's transaction; `value` is run's return value when it Finished in this process */
  onSettled(tx: Tx, task: Task, params: P, value: R | undefined): Promise<void>;
  /** after the settle committed: clean-up outside the database (also for a dead runner's task) */
  afterSettled?(deps: Deps, task: Task, params: P): Promise<void>;
}

export function defineTask<Deps, Tx, P, R>(def: TaskDefinition<Deps, Tx, P, R>): TaskDefinition<Deps, Tx, P, R> {
  return def;
}

/** the params of a task row, or null when they do not parse (a hook then does nothing) */
export function paramsOf<P>(def: { params: z.ZodType<P> }, task: Task): P | null {
  let json: unknown;
  try {
    json = JSON.parse(task.param);
  } catch {
    return null;
  }
  const parsed = def.params.safeParse(json);
  return parsed.success ? parsed.data : null;
}
