import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionContext } from '../src/api/action.ts';
import { describeTasks } from '../src/api/actions/describe-tasks.ts';
import type { ServiceDeps } from '../src/backup/service-deps.ts';
import { BACKENDS, openTestDatabase, type TestDatabase } from '../src/db/testing.ts';
import { TaskStore } from '../src/tasks/task-store.ts';

// A batch's BytesDone/BytesTotal are the sums of its instance tasks', live while they run, and
// every task's Result (a string SDK models keep) carries its bytes too. Before, a batch showed 0/0
// and a running task's Result was empty.

const ACCOUNT = 'bytes-test';

describe.each(BACKENDS)('DescribeTasks bytes on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDatabase(backend);
  });
  afterAll(() => t?.dispose());

  const describe = async (params: Record<string, unknown>) => {
    const deps = { db: t.db, regionId: 'cn-hangzhou' } as unknown as ServiceDeps;
    const ctx = { account: ACCOUNT, requestId: 'REQ' } as ActionContext;
    const body = await describeTasks(deps).handle({ MaxResults: 100, ...params } as never, ctx);
    return body.Data as Array<Record<string, unknown>>;
  };

  it("sums the children's bytes into the batch and puts each task's bytes in its Result", async () => {
    const { batch, children } = await t.db.tasks.createBatch(ACCOUNT, {
      type: 'BackupApp',
      invokeId: 'REQ-1',
      param: {},
      children: ['acp-1', 'acp-2'].map((id) => ({ instanceId: id, instanceName: id, param: {} })),
    });
    const store = new TaskStore(t.db.kysely);
    const claimed = await store.claim('owner-1', 2, 60_000);
    expect(claimed).toHaveLength(2);
    const [a, b] = children.map((c) => claimed.find((x) => x.id === c.id));
    if (!a || !b) throw new Error('both children should be claimed');
    await store.progress({ owner: 'owner-1', attempt: a.attempts }, a.id, 300, 1_000);
    await store.progress({ owner: 'owner-1', attempt: b.attempts }, b.id, 50, 4_000);

    const [shown] = await describe({ TaskIds: [batch.id] });
    expect(shown).toMatchObject({ TaskId: batch.id, Level: 1, BytesDone: 350, BytesTotal: 5_000 });
    expect(JSON.parse(String(shown?.Result))).toEqual({ BytesDone: 350, BytesTotal: 5_000 });

    const running = (await describe({ ParentTaskId: batch.id })).find((x) => x.TaskId === b.id);
    expect(JSON.parse(String(running?.Result))).toEqual({ BytesDone: 50, BytesTotal: 4_000 });

    await store.progress({ owner: 'owner-1', attempt: a.attempts }, a.id, 1_000, 1_000);
    const result = JSON.stringify({ objectKey: 'k', warnings: [] });
    await store.settle({ owner: 'owner-1', attempt: a.attempts }, a.id, { status: 'Finished', result });
    const finished = (await describe({ TaskIds: [a.id] }))[0];
    expect(JSON.parse(String(finished?.Result))).toEqual({
      objectKey: 'k',
      warnings: [],
      BytesDone: 1_000,
      BytesTotal: 1_000,
    });
    expect((await describe({ TaskIds: [batch.id] }))[0]).toMatchObject({ BytesDone: 1_050, BytesTotal: 5_000 });
    // the repository agrees with what the API shows (the console reads through the same actions)
    expect(await t.db.tasks.get(ACCOUNT, batch.id)).toMatchObject({ bytesDone: 1_050, bytesTotal: 5_000 });
  });
});
