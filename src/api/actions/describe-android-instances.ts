import type { ServiceDeps } from '../../backup/service-deps.ts';
import { DEFAULT_REGION_ID } from '../../config.ts';
import { INSTANCE_GROUP_ID, INSTANCE_STATUSES, type Instance } from '../../db/instances-repo.ts';
import { defineAction, param } from '../action.ts';
import { INSTANCE_ID, nextTokenProblem, plainTime } from '../format.ts';

export const describeAndroidInstances = (deps: ServiceDeps) =>
  defineAction({
    name: 'DescribeAndroidInstances',
    params: {
      AndroidInstanceIds: param.stringList({}, { pattern: INSTANCE_ID }),
      AndroidInstanceName: param.string({ maxLength: 128 }),
      Status: param.string({ enum: INSTANCE_STATUSES }),
      InstanceGroupId: param.string({ pattern: INSTANCE_GROUP_ID }),
      InstanceGroupIds: param.stringList({}, { pattern: INSTANCE_GROUP_ID }),
      MaxResults: param.integer({ min: 1, max: 100, default: 100 }),
      NextToken: param.string({ maxLength: 512, check: nextTokenProblem }),
    },
    async handle(p, ctx) {
      const page = await deps.db.instances.list(
        ctx.account,
        {
          ids: p.AndroidInstanceIds,
          name: p.AndroidInstanceName,
          status: p.Status,
          groupId: p.InstanceGroupId,
          groupIds: p.InstanceGroupIds,
        },
        { maxResults: p.MaxResults, nextToken: p.NextToken },
      );
      const models = [];
      const region = deps.regionId ?? DEFAULT_REGION_ID;
      for (const i of page.items) models.push(render(i, await liveRate(deps, ctx.account, i), region));
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

/**
 * Alibaba's InstanceModel fields we can honestly fill (docs/api-models.md, "What we fill"): the
 * hardware facts are what the phone last reported, left out when it did not say. Memory is
 * MemTotal in MiB; Cpu a string, as the model types it.
 */
function render(i: Instance, rate: number, regionId: string) {
  const display =
    i.displayWidth !== null && i.displayHeight !== null && i.displayDpi !== null
      ? { DisplayConfig: { ResolutionWidth: i.displayWidth, ResolutionHeight: i.displayHeight, Dpi: i.displayDpi } }
      : {};
  return {
    AndroidInstanceId: i.id,
    AndroidInstanceName: i.name,
    AndroidInstanceStatus: i.status,
    AndroidInstanceGroupId: i.instanceGroupId ?? '',
    ErrorCode: i.errorCode ?? '',
    Rate: rate,
    RegionId: regionId,
    ImageId: i.imageId,
    ImageVersion: i.imageVersion,
    InstanceType: i.instanceType,
    SystemVersion: `Android ${i.androidVersion}`,
    ...(i.cpuCount === null ? {} : { Cpu: String(i.cpuCount) }),
    ...(i.memoryMb === null ? {} : { Memory: i.memoryMb }),
    ...display,
    NetworkInterfaceIp: i.networkIp ?? '',
    // not in Alibaba's model (SDKs ignore unknown keys): the phone's ABI, which decides where a backup may go
    Abi: i.abi,
    GmtCreate: plainTime(i.created),
    GmtModified: plainTime(i.modified),
  };
}
