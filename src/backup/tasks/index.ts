import type { Repositories } from '../../db/database.ts';
import type { TaskType } from '../../db/tasks-repo.ts';
import type { TaskDefinition } from '../../tasks/define-task.ts';
import type { TaskDeps } from '../task-deps.ts';
import { backupAppTask } from './backup-app-task.ts';
import { backupFileTask } from './backup-file-task.ts';
import { backupInstanceTask } from './backup-instance-task.ts';
import { recoverAppTask } from './recover-app-task.ts';
import { recoverFileTask } from './recover-file-task.ts';
import { recoverInstanceTask } from './recover-instance-task.ts';

// Every task type, by its wire name: a type missing here does not compile (Record<TaskType, …>).

// biome-ignore lint/suspicious/noExplicitAny: each definition is typed by its own params; the registry only dispatches
export type AnyTaskDefinition = TaskDefinition<TaskDeps, Repositories, any, any>;

export const TASKS: Record<TaskType, AnyTaskDefinition> = {
  BackupApp: backupAppTask,
  RecoverApp: recoverAppTask,
  BackupFile: backupFileTask,
  RecoverFile: recoverFileTask,
  BackupAndroidInstance: backupInstanceTask,
  RecoverAndroidInstance: recoverInstanceTask,
};
