import type { ServiceDeps } from '../../backup/service-deps.ts';
import type { ActionDefinition } from '../action.ts';
import { backupAndroidInstance } from './backup-android-instance.ts';
import { backupApp } from './backup-app.ts';
import { backupFile } from './backup-file.ts';
import { cancelTasks } from './cancel-tasks.ts';
import { deleteBackupFile } from './delete-backup-file.ts';
import { describeAndroidInstances } from './describe-android-instances.ts';
import { describeBackupFiles } from './describe-backup-files.ts';
import { describeTasks } from './describe-tasks.ts';
import { recoverAndroidInstance } from './recover-android-instance.ts';
import { recoverApp } from './recover-app.ts';
import { recoveryFile } from './recovery-file.ts';

/** Every action the API serves. */
export function actions(deps: ServiceDeps): ActionDefinition[] {
  return [
    backupApp(deps),
    recoverApp(deps),
    describeBackupFiles(deps),
    deleteBackupFile(deps),
    describeTasks(deps),
    describeAndroidInstances(deps),
    cancelTasks(deps),
    backupFile(deps),
    recoveryFile(deps),
    backupAndroidInstance(deps),
    recoverAndroidInstance(deps),
  ];
}
