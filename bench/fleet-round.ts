import type { ChildProcess } from 'node:child_process';
import type RPCClient from '@alicloud/pop-core';
import { KERNEL_THREADS, machineCpu, sampleCpu, watchBackends } from './fleet-cpu.ts';

// One round of bench/fleet-postgres.ts: the calls, the wait until every task settled, and the
// CPU each group of processes used meanwhile.

const PKG = 'com.example.gallery';
// no storage config names this endpoint, so it maps to the default fs store in the data folder
const ENDPOINT = 'oss-fleet.local';
const UNSETTLED = ['Waiting', 'Processing'];
// pop-core's default is 3 s; a call slower than that under load is slow, not lost
const CALL = { method: 'POST', timeout: 60_000 } as const;
// longer than a lease (60 s) plus a stalled task's takeover (180 s): a round this long without a
// task settling is stuck, and its unsettled tasks are reported as failures instead of waited for
const STUCK_MS = 300_000;

export interface Fleet {
  apis: { proc: ChildProcess; rpc: RPCClient }[];
  emulators: ChildProcess[];
  ids: string[];
  /** the PostgreSQL database's name, whose backends' CPU is counted */
  database: string;
  requests: number;
  inFlight: number;
}

export interface Round {
  workers: number;
  accepted: number;
  /** accepted calls whose task ended Finished */
  finished: number;
  acceptedPerSecond: number;
  p50: number;
  p99: number;
  tasksPerMinute: number;
  settleSeconds: number;
  /** first call sent → every task settled: the span the CPU figures cover */
  wallSeconds: number;
  meanRunSeconds: number;
  /** every refused call, with its code */
  refused: string[];
  /** every task that did not finish, with its ErrorCode */
  failures: string[];
  /** cores each group used on average over the round */
  cores: Record<'api' | 'workers' | 'phones' | 'postgres' | 'kernel' | 'client' | 'other', number>;
  machineBusy: number;
}

type Task = { TaskId: string; TaskStatus: string; ErrorCode: string; ErrorMsg: string } & Record<string, string>;

export async function runRound(fleet: Fleet, workers: ChildProcess[]): Promise<Round> {
  const { apis, ids, requests, inFlight } = fleet;
  const pids = (ps: ChildProcess[]) => ps.map((p) => p.pid ?? 0);
  const groups = {
    api: pids(apis.map((a) => a.proc)),
    workers: pids(workers),
    phones: pids(fleet.emulators),
    kernel: KERNEL_THREADS,
  };
  const postgres = watchBackends(fleet.database);
  const cpu0 = sampleCpu(groups);
  const machine0 = machineCpu();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  let firstAccept = Number.NaN;
  const latencies: number[] = [];
  const taskIds: string[] = [];
  const refused: string[] = [];
  let next = 0;
  const sender = async () => {
    while (next < requests) {
      const i = next++;
      const api = apis[i % apis.length] as Fleet['apis'][number];
      const start = performance.now();
      try {
        const body = await api.rpc.request<{ Data: { TaskId: string }[] }>(
          'BackupApp',
          {
            AndroidInstanceIdList: [ids[i % ids.length]],
            SourceAppList: [PKG],
            BackupFilePath: 'oss://fleet/apps/',
            UploadEndpoint: ENDPOINT,
          },
          CALL,
        );
        const end = performance.now();
        if (Number.isNaN(firstAccept)) firstAccept = end;
        latencies.push(end - start);
        taskIds.push(String(body.Data[0]?.TaskId));
      } catch (err) {
        const e = err as { code?: string; message?: string };
        refused.push(`call ${i} refused: ${e.code ?? ''} ${e.message ?? String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  const sentSeconds = (performance.now() - t0) / 1000;
  const rpc = (apis[0] as Fleet['apis'][number]).rpc;
  for (let last = -1, since = performance.now(); ; ) {
    const page = await rpc.request<{ TotalCount: number }>(
      'DescribeTasks',
      { Level: 2, TaskStatuses: UNSETTLED, MaxResults: 1 },
      CALL,
    );
    if (page.TotalCount === 0) break;
    if (page.TotalCount !== last) [last, since] = [page.TotalCount, performance.now()];
    if (performance.now() - since > STUCK_MS) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const settled = performance.now();
  const cpu1 = sampleCpu(groups);
  const postgresSeconds = postgres.stop();
  const machine1 = machineCpu();
  const client = process.cpuUsage(client0);
  const wall = (settled - t0) / 1000;
  const tasks: Task[] = [];
  for (let i = 0; i < taskIds.length; i += 100) {
    const chunk = taskIds.slice(i, i + 100);
    const page = await rpc.request<{ Data: Task[] }>('DescribeTasks', { TaskIds: chunk, MaxResults: 100 }, CALL);
    tasks.push(...page.Data);
  }
  const failures = tasks
    .filter((t) => t.TaskStatus !== 'Finished')
    .map((t) => `${t.TaskId} on ${t.InstanceId} ${t.TaskStatus}: ${t.ErrorCode} ${t.ErrorMsg}`);
  if (tasks.length !== taskIds.length) failures.push(`${taskIds.length - tasks.length} accepted tasks not found`);
  const finished = tasks.filter((t) => t.TaskStatus === 'Finished').length;
  const runs = tasks.map((t) => (Date.parse(t.FinishTime ?? '') - Date.parse(t.StartTime ?? '')) / 1000);
  const cores = Object.fromEntries(
    Object.keys(groups).map((k) => [k, ((cpu1[k] ?? 0) - (cpu0[k] ?? 0)) / wall]),
  ) as Round['cores'];
  cores.postgres = postgresSeconds / wall;
  cores.client = (client.user + client.system) / 1e6 / wall;
  const machineBusy = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
  const busyCores = (machine1.busy - machine0.busy) / wall;
  cores.other = Math.max(0, busyCores - Object.values(cores).reduce((n, v) => n + v, 0));
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    workers: workers.length,
    accepted: taskIds.length,
    finished,
    acceptedPerSecond: taskIds.length / sentSeconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    tasksPerMinute: (finished / ((settled - firstAccept) / 1000)) * 60,
    settleSeconds: (settled - firstAccept) / 1000,
    wallSeconds: wall,
    meanRunSeconds: runs.reduce((n, s) => n + s, 0) / Math.max(1, runs.length),
    refused,
    failures,
    cores,
    machineBusy,
  };
}

/** nearest-rank quantile of sorted values */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}
