import type { ServiceDeps } from '../../backup/service-deps.ts';
import { DEFAULT_REGION_ID } from '../../config.ts';
import { TASK_STATUSES, TASK_TYPES, type Task } from '../../db/tasks-repo.ts';
import { defineAction, param } from '../action.ts';
import { INSTANCE_ID, isoSeconds, nextTokenProblem, RESOURCE_ID } from '../format.ts';

export const describeTasks = (deps: ServiceDeps) =>
  defineAction({
    name: 'DescribeTasks',
    params: {
      InvokeId: param.string({ maxLength: 64 }),
      ResourceIds: param.stringList({}, { maxLength: 64 }),
      TaskIds: param.stringList({}, { pattern: RESOURCE_ID }),
      InstanceId: param.string({ pattern: INSTANCE_ID }),
      InstanceName: param.string({ maxLength: 128 }),
      ParentTaskId: param.string({ pattern: RESOURCE_ID }),
      Level: param.integer({ min: 1, max: 2 }),
      TaskStatus: param.string({ enum: TASK_STATUSES }),
      TaskStatuses: param.stringList({}, { enum: TASK_STATUSES }),
      TaskType: param.string({ enum: TASK_TYPES }),
      TaskTypes: param.stringList({}, { enum: TASK_TYPES }),
      Param: param.string(),
      MaxResults: param.integer({ min: 1, max: 100, default: 10 }),
      NextToken: param.string({ maxLength: 512, check: nextTokenProblem }),
    },
    async handle(p, ctx) {
      const page = await deps.db.tasks.list(
        ctx.account,
        {
          invokeId: p.InvokeId,
          resourceIds: p.ResourceIds,
          taskIds: p.TaskIds,
          instanceId: p.InstanceId,
          instanceName: p.InstanceName,
          parentTaskId: p.ParentTaskId,
          level: p.Level,
          taskStatus: p.TaskStatus,
          taskStatuses: p.TaskStatuses,
          taskType: p.TaskType,
          taskTypes: p.TaskTypes,
        },
        { maxResults: p.MaxResults, nextToken: p.NextToken },
      );
      // one query for the page, not one per instance (a page of 100 tasks can name 100 phones)
      const instanceIds = new Set(page.items.flatMap((t) => (t.instanceId ? [t.instanceId] : [])));
      const statuses = await deps.db.instances.statuses(ctx.account, [...instanceIds]);
      return {
        TotalCount: page.totalCount,
        NextToken: page.nextToken,
        Data: page.items.map((t) =>
          render(t, statuses.get(t.instanceId ?? '') ?? '', deps.regionId ?? DEFAULT_REGION_ID),
        ),
      };
    },
  });

function render(t: Task, instanceStatus: string, regionId: string) {
  return {
    TaskId: t.id,
    ParentTaskId: t.parentId ?? '',
    Level: t.level,
    TaskType: t.type,
    TaskStatus: t.status,
    InvokeId: t.invokeId,
    ResourceId: t.resourceId ?? '',
    InstanceId: t.instanceId ?? '',
    InstanceName: t.instanceName ?? '',
    InstanceStatus: instanceStatus,
    RegionId: regionId,
    // who started it: the account whose AccessKey made the call (docs/api-models.md, "What we fill")
    Operator: t.account,
    StartTime: isoSeconds(t.startTime),
    FinishTime: isoSeconds(t.finishTime),
    Param: t.param,
    Result: resultWithBytes(t),
    ErrorCode: t.errorCode ?? '',
    ErrorMsg: t.errorMsg ?? '',
    TotalChildCount: t.totalChildCount,
    SuccessChildCount: t.successChildCount,
    FailedChildCount: t.failedChildCount,
    RunningChildCount: t.runningChildCount,
    // not in Alibaba's model (SDKs ignore unknown keys): progress of the work in bytes
    BytesDone: t.bytesDone,
    BytesTotal: t.bytesTotal,
    // also ours: how many runs it took (retries after transient faults, takeovers of a dead worker's run)
    Attempts: t.attempts,
  };
}

/**
 * The task's Result with its bytes in it: Alibaba's generated SDK models keep `Result` (a string)
 * but drop the BytesDone/BytesTotal they do not know, so an SDK user still sees progress, on a
 * running task, a settled one and a batch alike. A Result that is not a JSON object is left as it is.
 */
function resultWithBytes(t: Task): string {
  const bytes = { BytesDone: t.bytesDone, BytesTotal: t.bytesTotal };
  if (!t.result) return JSON.stringify(bytes);
  let value: unknown;
  try {
    value = JSON.parse(t.result);
  } catch {
    return t.result;
  }
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  return isObject ? JSON.stringify({ ...(value as Record<string, unknown>), ...bytes }) : t.result;
}
