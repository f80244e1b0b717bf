import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

// Apps the service suspended on a phone for a backup. A row is written before `pm suspend` and
// removed after `pm unsuspend`, so a process killed in between leaves a record, and the next
// task on that phone (or the reconciler) lifts the suspension (src/backup/suspensions.ts).

export interface Suspension {
  instanceId: string;
  package: string;
  taskId: string;
  created: string;
}

export class SuspensionsRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** records (or takes over) the suspension of `pkg` on the instance for `taskId` */
  async record(instanceId: string, pkg: string, taskId: string): Promise<void> {
    await this.db
      .insertInto('suspensions')
      .values({ instanceId, package: pkg, taskId, created: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['instanceId', 'package']).doUpdateSet({ taskId }))
      .execute();
  }

  /** true when the suspension of `pkg` is still recorded for `taskId` */
  async isOwn(instanceId: string, pkg: string, taskId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('suspensions')
      .select('taskId')
      .where('instanceId', '=', instanceId)
      .where('package', '=', pkg)
      .where('taskId', '=', taskId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** forgets the suspension of `pkg` if `taskId` still owns it */
  async forget(instanceId: string, pkg: string, taskId: string): Promise<void> {
    await this.db
      .deleteFrom('suspensions')
      .where('instanceId', '=', instanceId)
      .where('package', '=', pkg)
      .where('taskId', '=', taskId)
      .execute();
  }

  /** the instance's recorded suspensions, or every instance's */
  list(instanceId?: string): Promise<Suspension[]> {
    let q = this.db.selectFrom('suspensions').selectAll();
    if (instanceId) q = q.where('instanceId', '=', instanceId);
    return q.orderBy('instanceId').orderBy('package').execute();
  }
}
