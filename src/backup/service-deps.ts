import type { Db } from '../db/database.ts';
import type { Task } from '../db/tasks-repo.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** What the API actions need from the rest of the service. */
export interface ServiceDeps {
  db: Db;
  storeFor: (endpoint: string) => ObjectStore;
  /** wakes the task runner after tasks were created */
  notifyTasks: () => void;
  /** unsettled tasks one phone may have before BackupApp/RecoverApp refuse it (config server.maxPendingTasksPerInstance) */
  maxPendingTasks: number;
  /** the phone folders BackupFile and RecoveryFile may name (config files.allowedRoots; FILES_DEFAULTS without it) */
  files?: { allowedRoots: readonly string[] };
  /** config regionId: the RegionId of what the describe actions return (DEFAULT_REGION_ID when not given) */
  regionId?: string;
  /** CancelTasks on one per-instance task (src/tasks/task-queue.ts): the task now, or null if it had settled */
  cancelTask: (taskId: string, by: string) => Promise<Task | null>;
}
