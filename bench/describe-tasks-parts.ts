import { rpcV1Signature, rpcV1StringToSign } from '../src/api/signing/rpc-v1.ts';
import type { Db } from '../src/db/database.ts';
import type { TaskFilters } from '../src/db/tasks-repo.ts';

// What one DescribeTasks request costs the service before HTTP, step by step, in-process on the
// bench's database: the steps every signed request takes (its signature, the key, the nonce that
// stops a replay, which is a write) and the queries of each bench query (TotalCount and the page,
// then the page's instance statuses). Timed one after another on an idle process, so the sum is
// the least the service can spend per request whatever HTTP costs; the bare handler's whole
// request is in the table above.

export type PartQueries = Record<string, { filters: TaskFilters; maxResults?: number }>;

const ROUNDS = 2000;

export interface Parts {
  /** µs per call of the steps every signed request takes, by name */
  everyRequest: Map<string, number>;
  /** µs per call of each query's TotalCount, page and instance statuses, by query name */
  queries: Map<string, number>;
}

export async function timeParts(db: Db, accessKeyId: string, queries: PartQueries): Promise<Parts> {
  const key = await db.accounts.findKey(accessKeyId);
  if (!key) throw new Error(`no key ${accessKeyId}`);
  // what @alicloud/pop-core signs for a DescribeTasks call (src/api/signing/rpc-v1.ts)
  const params = new Map(
    Object.entries({
      Action: 'DescribeTasks',
      Format: 'JSON',
      Version: '2023-09-30',
      AccessKeyId: accessKeyId,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: 'f3a1b2c3d4e5f60718293a4b5c6d7e8f',
      Timestamp: new Date().toISOString(),
      'TaskIds.1': 't-0123456789abcdefg',
      MaxResults: '20',
    }),
  );
  const until = new Date(Date.now() + 900_000);
  let nonce = 0;
  const everyRequest: [string, () => unknown][] = [
    ['signature (v1 string to sign + HMAC-SHA1)', () => rpcV1Signature(rpcV1StringToSign('GET', params), key.secret)],
    ['the access key (sealed secret, memoized)', () => db.accounts.findKey(accessKeyId)],
    ['the nonce (one upsert)', () => db.nonces.remember(`${accessKeyId}:bench-${process.pid}-${nonce++}`, until)],
  ];
  const account = key.account;
  const listed: [string, () => unknown][] = Object.entries(queries).map(([name, q]) => [
    `${name}: TotalCount + page + instance statuses`,
    async () => {
      const page = await db.tasks.list(account, q.filters, { maxResults: q.maxResults });
      const ids = [...new Set(page.items.flatMap((t) => (t.instanceId ? [t.instanceId] : [])))];
      return db.instances.statuses(account, ids);
    },
  ]);
  return { everyRequest: await timeEach(everyRequest), queries: await timeEach(listed) };
}

async function timeEach(steps: [string, () => unknown][]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [name, step] of steps) {
    for (let i = 0; i < 200; i++) await step();
    const start = performance.now();
    for (let i = 0; i < ROUNDS; i++) await step();
    out.set(name, ((performance.now() - start) * 1000) / ROUNDS);
  }
  return out;
}
