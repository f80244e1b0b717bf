import type { Db } from '../../src/db/database.ts';
import { TaskStore } from '../../src/tasks/task-store.ts';

/** CancelTasks for API tests that run no worker: the task store's cancel without lifecycle hooks */
export const cancelWithoutRunner = (db: Db) => async (id: string, by: string) =>
  (await new TaskStore(db.kysely).cancel(id, by))?.task ?? null;
