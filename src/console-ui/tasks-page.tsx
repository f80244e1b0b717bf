import { call } from './api.ts';
import { bytes, time } from './format.ts';
import type { Task, TasksAnswer } from './models.ts';
import { TaskProgress } from './progress.tsx';
import { usePoll } from './use-poll.ts';

// Batch tasks, newest first, each with its per-instance tasks: live progress (bytes, rate, ETA)
// and, for a failed one, the error code and message the API reports.

const BATCHES = 20;

async function load() {
  const [batches, recent] = await Promise.all([
    call<TasksAnswer>('DescribeTasks', { Level: 1, MaxResults: BATCHES }),
    call<TasksAnswer>('DescribeTasks', { Level: 2, MaxResults: 100 }),
  ]);
  const children = new Map<string, Task[]>();
  for (const t of recent.Data) children.set(t.ParentTaskId, [...(children.get(t.ParentTaskId) ?? []), t]);
  // a batch whose tasks are older than the 100 most recent: asked for by itself
  for (const b of batches.Data) {
    if ((children.get(b.TaskId)?.length ?? 0) < b.TotalChildCount) {
      const own = await call<TasksAnswer>('DescribeTasks', { ParentTaskId: b.TaskId, MaxResults: 100 });
      children.set(b.TaskId, own.Data);
    }
  }
  return { batches: batches.Data, total: batches.TotalCount, children };
}

function Child({ task }: { task: Task }) {
  return (
    <tr data-task-id={task.TaskId} class="child">
      <td>
        {task.InstanceId}
        <div class="sub">{task.TaskId}</div>
      </td>
      <td>
        <span class={`status s-${task.TaskStatus}`}>{task.TaskStatus}</span>
      </td>
      <td class="wide">
        <TaskProgress task={task} />
        {task.ErrorCode && (
          <div class="error" data-error-code={task.ErrorCode}>
            {task.ErrorCode}: {task.ErrorMsg}
          </div>
        )}
      </td>
      <td>{time(task.StartTime)}</td>
      <td>{time(task.FinishTime)}</td>
    </tr>
  );
}

function Batch({ batch, tasks }: { batch: Task; tasks: Task[] }) {
  const done = tasks.reduce((n, c) => n + c.BytesDone, 0);
  const total = tasks.reduce((n, c) => n + c.BytesTotal, 0);
  return (
    <tbody class="batch" data-batch-id={batch.TaskId}>
      <tr class="batch-row">
        <td>
          <b>{batch.TaskType}</b>
          <div class="sub">
            {batch.TaskId}
            {batch.ResourceId && ` · ${batch.ResourceId}`}
          </div>
        </td>
        <td>
          <span class={`status s-${batch.TaskStatus}`}>{batch.TaskStatus}</span>
        </td>
        <td class="wide">
          {batch.SuccessChildCount}/{batch.TotalChildCount} finished
          {batch.FailedChildCount > 0 && `, ${batch.FailedChildCount} failed`}
          {batch.RunningChildCount > 0 && `, ${batch.RunningChildCount} running`} · {bytes(done)} / {bytes(total)}
        </td>
        <td>{time(batch.StartTime)}</td>
        <td>{time(batch.FinishTime)}</td>
      </tr>
      {tasks.map((c) => (
        <Child key={c.TaskId} task={c} />
      ))}
    </tbody>
  );
}

export function TasksPage() {
  const polled = usePoll(load, 1000);
  const data = polled.data;
  if (!data) return <p class="loading">{polled.error ? polled.error.message : 'Loading…'}</p>;
  return (
    <section>
      <div class="toolbar">
        <span>
          {data.total} batch task(s){data.total > BATCHES && `, the ${BATCHES} newest shown`}
        </span>
      </div>
      <table class="tasks">
        <thead>
          <tr>
            <th>Task</th>
            <th>Status</th>
            <th>Progress</th>
            <th>Started</th>
            <th>Finished</th>
          </tr>
        </thead>
        {data.batches.map((b) => (
          <Batch key={b.TaskId} batch={b} tasks={data.children.get(b.TaskId) ?? []} />
        ))}
      </table>
    </section>
  );
}
