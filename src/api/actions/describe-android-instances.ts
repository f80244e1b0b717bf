import type { ServiceDeps } from '../../backup/service-deps.ts';
import { INSTANCE_STATUSES, type Instance } from '../../db/instances-repo.ts';
import { defineAction, param } from '../action.ts';
import { INSTANCE_ID, nextTokenProblem, plainTime } from '../format.ts';

export const describeAndroidInstances = (deps: ServiceDeps) =>
  defineAction({
    name: 'DescribeAndroidInstances',
    params: {
      AndroidInstanceIds: param.stringList({}, { pattern: INSTANCE_ID }),
      AndroidInstanceName: param.string({ maxLength: 128 }),
      Status: param.string({ enum: INSTANCE_STATUSES }),
      MaxResults: param.integer({ min: 1, max: 100, default: 100 }),
      NextToken: param.string({ maxLength: 512, check: nextTokenProblem }),
    },
    async handle(p, ctx) {
      const page = await deps.db.instances.list(
        ctx.account,
        { ids: p.AndroidInstanceIds, name: p.AndroidInstanceName, status: p.Status },
        { maxResults: p.MaxResults, nextToken: p.NextToken },
      );
      const models = [];
      for (const i of page.items) models.push(render(i, await liveRate(deps, ctx.account, i)));
      return { TotalCount: page.totalCount, NextToken: page.nextToken, InstanceModel: models };
    },
  });

/** Rate while a backup or restore runs: its task's bytes, read live rather than written per chunk. */
async function liveRate(deps: ServiceDeps, account: string, i: Instance): Promise<number> {
  if (i.status !== 'BACKUPING' && i.status !== 'RECOVERING') return i.rate;
  const page = await deps.db.tasks.list(account, { instanceId: i.id, taskStatus: 'Processing', level: 2 });
  const t = page.items[0];
  return t && t.bytesTotal > 0 ? Math.min(99, Math.floor((100 * t.bytesDone) / t.bytesTotal)) : 0;
}

function render(i: Instance, rate: number) {
  return {
    AndroidInstanceId: i.id,
    AndroidInstanceName: i.name,
    AndroidInstanceStatus: i.status,
    ErrorCode: i.errorCode ?? '',
    Rate: rate,
    ImageId: i.imageId,
    ImageVersion: i.imageVersion,
    InstanceType: i.instanceType,
    SystemVersion: `Android ${i.androidVersion}`,
    GmtCreate: plainTime(i.created),
    GmtModified: plainTime(i.modified),
  };
}
