import type { Task } from '../db/tasks-repo.ts';

// The task-queue port. Tasks are created in the database (TasksRepo.createBatch, inside the
// caller's transaction); a queue runs the Waiting per-instance (Level 2) tasks through one
// handler. Implementation: the embedded runner (SQLite or PostgreSQL; README explains why not pg-boss).

export interface TaskContext {
  /** aborted when the runner stops without draining, or when another runner took the task over */
  signal: AbortSignal;
  /** bytes done / total; cheap to call often, written to the database a few times a second */
  progress(done: number, total: number): void;
  /**
   * call right before publishing anything (an archive, its sidecar): throws (and aborts `signal`)
   * when this run no longer holds the task (taken over, or cancelled); otherwise the task stays
   * this run's for another lease, so nothing a newer attempt wrote can be overwritten by this one
   */
  fence(): Promise<void>;
}

/** Resolves with the task's result (stored as JSON); throws a ServiceError to fail it with that code. */
export type TaskHandler = (task: Task, ctx: TaskContext) => Promise<unknown>;

/** Called once per task that reached Finished or Failed (also when a dead runner's task is given up). */
export type SettledListener = (task: Task) => void | Promise<void>;

export interface TaskQueue {
  start(handler: TaskHandler): Promise<void>;
  /** wakes the poller now; call after creating tasks */
  notify(): void;
  /** stops claiming; aborts in-flight tasks (they go back to Waiting) unless `drain`; resolves when idle */
  stop(opts?: { drain?: boolean }): Promise<void>;
  /** CancelTasks on a per-instance task: the task as it now is, or null when it had settled */
  cancel(taskId: string, by: string): Promise<Task | null>;
  /** returns a function that removes the listener */
  onSettled(listener: SettledListener): () => void;
}
