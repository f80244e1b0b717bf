import type { ServiceDeps } from '../../backup/service-deps.ts';
import type { Task } from '../../db/tasks-repo.ts';
import { ERRORS } from '../../errors.ts';
import { defineAction, param } from '../action.ts';
import { RESOURCE_ID } from '../format.ts';

// Our addition to the eds-aic API (Alibaba has no way to stop a task): stops batch or instance
// tasks cleanly. A Waiting task fails at once with TaskCancelled; a running one is marked and
// its runner aborts it (within a poll interval), lifts what it suspended, discards what it
// stored, and fails it with TaskCancelled; a task already settled is reported as it is. Every id
// is checked before anything is cancelled, so a typo cancels nothing.

const MAX_IDS = 100;

export const cancelTasks = (deps: ServiceDeps) =>
  defineAction({
    name: 'CancelTasks',
    params: {
      TaskIds: param.stringList({ required: true, maxItems: MAX_IDS }, { pattern: RESOURCE_ID }),
    },
    async handle(p, ctx) {
      const targets: Task[] = [];
      for (const id of new Set(p.TaskIds)) {
        const task = await deps.db.tasks.get(ctx.account, id);
        if (!task) throw ERRORS.taskNotFound(id);
        targets.push(...(task.level === 1 ? await deps.db.tasks.childrenOf(ctx.account, task.id) : [task]));
      }
      const by = `CancelTasks request ${ctx.requestId}`;
      const data = [];
      for (const task of new Map(targets.map((t) => [t.id, t])).values()) {
        const now = await deps.cancelTask(task.id, by);
        data.push({
          TaskId: task.id,
          ParentTaskId: task.parentId ?? undefined,
          // Failed: cancelled now; Processing: its runner is stopping it; Finished/Failed: it had settled
          TaskStatus: (now ?? (await deps.db.tasks.get(ctx.account, task.id)) ?? task).status,
          Cancelled: now !== null,
        });
      }
      return { Count: data.length, Data: data };
    },
  });
