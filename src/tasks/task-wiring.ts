import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Task, TaskType } from '../db/tasks-repo.ts';
import { ServiceError } from '../errors.ts';
import { paramsOf, type TaskDefinition } from './define-task.ts';
import { type Backoff, retryDelay } from './retry-policy.ts';
import type { TaskHandler } from './task-queue.ts';
import type { TaskHooks } from './task-store.ts';

// Turns the task definitions into what the runner takes: one handler, the in-transaction hooks,
// the retry policy and the result shown in DescribeTasks, each dispatched on the task's type.

export function wireTasks<Deps, Tx>(
  // biome-ignore lint/suspicious/noExplicitAny: each definition is typed by its own params
  defs: Record<TaskType, TaskDefinition<Deps, Tx, any, any>>,
  deps: Deps,
  txOf: (tx: Kysely<Database>) => Tx,
  backoff: Backoff,
) {
  const handler: TaskHandler = (task, ctx) => {
    const def = defs[task.type];
    const params = paramsOf(def, task);
    if (params === null) {
      throw new ServiceError('InternalError', 500, `The task ${task.id} has params its type does not accept.`);
    }
    return def.run(deps, task, params, ctx);
  };
  const hooks: TaskHooks = {
    async onClaimed(tx, task) {
      const def = defs[task.type];
      const params = task.level === 2 ? paramsOf(def, task) : null;
      if (params !== null) await def.onClaimed(txOf(tx), task, params);
    },
    async onSettled(tx, task, value) {
      const def = defs[task.type];
      const params = task.level === 2 ? paramsOf(def, task) : null;
      if (params !== null) await def.onSettled(txOf(tx), task, params, value);
    },
  };
  return {
    handler,
    hooks,
    retryDelay: (task: Task, err: ServiceError) => retryDelay(defs[task.type].retry, backoff, task, err),
    resultOf: (task: Task, value: unknown) => {
      const shown = defs[task.type].result;
      return shown ? shown(value) : value;
    },
    /** for the runner's onSettled listener: clean-up after the settle committed */
    async afterSettled(task: Task): Promise<void> {
      const def = defs[task.type];
      const params = task.level === 2 ? paramsOf(def, task) : null;
      if (params !== null) await def.afterSettled?.(deps, task, params);
    },
  };
}
