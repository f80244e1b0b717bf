import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader } from '../src/backup/archive/tar-header.ts';
import { AdbStream } from '../src/devices/adb/adb-stream.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import { ERRORS } from '../src/errors.ts';
import { type ChildEmulator, startChildEmulator } from './helpers/child-emulator.ts';
import { client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { type Row, waitFor, waitTask } from './helpers/wait.ts';

// The ADB inactivity watchdog against a phone frozen with SIGSTOP: its sockets stay open and
// its kernel still accepts connections, but nothing answers. Reads, writes and opens in flight
// must fail as InstanceUnreachable within idleTimeoutMs; a connection with nothing open, or one
// whose reader holds the phone back, must not time out; after SIGCONT the phone works at once.

const MiB = 1024 * 1024;
const DIR = '/data/local/tmp/stall';
const BIG = `${DIR}/big.bin`;
const SIZE = 48 * MiB;

let dir: string;
let phone: ChildEmulator;
let keyDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devices-stall-'));
  keyDir = join(dir, 'keys');
  phone = await startChildEmulator(join(dir, 'phone'));
  mkdirSync(join(phone.root, DIR), { recursive: true });
  writeFileSync(join(phone.root, BIG), randomBytes(SIZE));
}, 60_000);
afterAll(async () => {
  await phone?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** reads the stream to its end at ~12 MB/s (so it is still running when the phone freezes) */
async function drain(stream: Readable, count: (n: number) => void): Promise<void> {
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    count(chunk.length);
    await sleep(5);
  }
}

/** a tar stream announcing a 1 GiB file, then zeros for as long as it is read */
function endlessTar(count: (n: number) => void): Readable {
  let head = true;
  return new Readable({
    read() {
      const chunk = head
        ? encodeHeader({
            path: 'zeros',
            type: 'file',
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 1 << 30,
            mtime: 0,
            linkpath: '',
          })
        : Buffer.alloc(64 * 1024);
      head = false;
      count(chunk.length);
      this.push(chunk);
    },
  });
}

/** when (ms after `from`) and how the promise settled */
const settled = (p: Promise<unknown>, from: () => number) =>
  p.then(
    () => ({ error: undefined as unknown, ms: performance.now() - from() }),
    (error: unknown) => ({ error, ms: performance.now() - from() }),
  );

describe('the ADB inactivity watchdog', () => {
  it('fails a write whose OKAY is still owed when the connection fails (Node would report it written)', async () => {
    const sent: number[] = [];
    const stream = new AdbStream({ maxPayload: 1024, send: (cmd) => void sent.push(cmd), forget: () => {} }, 1, 'x');
    stream.onOpened(7);
    stream.on('error', () => {});
    const written = new Promise<Error | null | undefined>((resolve) => stream.write(Buffer.from('data'), resolve));
    await waitFor(async () => sent.length === 1);
    expect(stream.awaitsDevice).toBe(true);
    stream.destroy(ERRORS.instanceUnreachable('acp-1', 'no data from the phone for 1000 ms'));
    expect(await written).toMatchObject({ code: 'InstanceUnreachable' });
    expect(stream.awaitsDevice).toBe(false);
  });

  it('leaves a connection with no stream open alone', async () => {
    const device = await connectAdb(phone.address, { keyDir, idleTimeoutMs: 300 });
    expect((await device.properties()).sdk).toBeGreaterThan(0);
    await sleep(1_200);
    expect(await device.exists(BIG)).toBe(true);
    await device.close();
  });

  it('does not count a reader holding the phone back as a stall', async () => {
    const device = await connectAdb(phone.address, { keyDir, idleTimeoutMs: 300 });
    const tar = device.tarOut(DIR);
    const first = await new Promise<Buffer>((resolve) => tar.once('readable', () => resolve(tar.read())));
    await sleep(1_200);
    let n = first.length;
    for await (const chunk of tar as AsyncIterable<Buffer>) n += chunk.length;
    expect(n).toBeGreaterThan(SIZE);
    await device.close();
  });

  it('fails every read, write and open in flight on a frozen phone within idleTimeoutMs; after SIGCONT a new connection works at once', async () => {
    const IDLE = 1_000;
    const device = await connectAdb(phone.address, { keyDir, idleTimeoutMs: IDLE });
    let [tarBytes, pullBytes, sentBytes] = [0, 0, 0];
    let frozenAt = 0;
    const since = () => frozenAt;
    const ops = [
      settled(
        drain(device.tarOut(DIR), (n) => {
          tarBytes += n;
        }),
        since,
      ),
      settled(
        drain(device.readFile(BIG), (n) => {
          pullBytes += n;
        }),
        since,
      ),
      settled(
        device.tarIn(
          '/data/local/tmp/stall-in',
          endlessTar((n) => {
            sentBytes += n;
          }),
        ),
        since,
      ),
    ];
    await waitFor(async () => tarBytes > 2 * MiB && pullBytes > 2 * MiB && sentBytes > 2 * MiB, 20_000);
    phone.freeze();
    frozenAt = performance.now();
    try {
      const results = await Promise.all(ops);
      const opened = await settled(device.properties(), since);
      for (const { error, ms } of results) {
        expect(error).toMatchObject({ code: 'InstanceUnreachable', transient: true });
        expect((error as Error).message).toContain('no data from the phone for 1000 ms');
        expect(ms).toBeGreaterThan(IDLE * 0.9);
        expect(ms).toBeLessThan(IDLE + 1_500);
      }
      // the connection is gone: a new stream on it fails at once with the same error
      expect(opened.error).toMatchObject({ code: 'InstanceUnreachable' });
      expect(opened.ms - Math.max(...results.map((r) => r.ms))).toBeLessThan(100);
    } finally {
      phone.thaw();
    }
    const thawed = performance.now();
    const again = await connectAdb(phone.address, { keyDir, idleTimeoutMs: IDLE });
    expect(await again.exists(BIG)).toBe(true);
    expect(performance.now() - thawed).toBeLessThan(2_000);
    await again.close();
    await device.close();
  });
});

describe('a BackupApp on a frozen phone', () => {
  const APP = 'com.example.notes';
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      phones: 0,
      configFile: {
        adb: { idleTimeoutMs: 1_000, connectTimeoutMs: 1_000 },
        worker: { retryBaseMs: 50, retryMaxMs: 200 },
      },
    });
    const device = await connectAdb(phone.address, { keyDir: join(stack.dataDir, 'adb') });
    const { androidVersion, sdk, abi, fingerprint } = await device.properties();
    await device.close();
    await stack.service.db.instances.add({
      ...{ id: 'acp-frozen', account: 'default', name: 'frozen', adbAddress: phone.address },
      ...{ imageId: 'img-test', imageVersion: '1.0', imageType: 'custom', instanceType: 'cpm.gx7.10xlarge' },
      ...{ androidVersion, sdk, abi, fingerprint },
    });
    writeFileSync(join(phone.root, 'data/user/0', APP, 'files', 'big.bin'), randomBytes(SIZE));
  }, 60_000);
  afterAll(() => stack?.close());

  it('fails with InstanceUnreachable within seconds, not the stall watchdog, and works at once after SIGCONT', async () => {
    const call = client('openapi-core V3', stack.url, stack.key);
    const backup = async () => {
      const res = await call('BackupApp', {
        AndroidInstanceIdList: ['acp-frozen'],
        SourceAppList: [APP],
        BackupFilePath: 'oss://frozen/dir/',
        UploadEndpoint: 'oss-cn-hangzhou.aliyuncs.com',
      });
      return String((res.Data as Row[])[0]?.TaskId);
    };
    const taskId = await backup();
    await waitFor(async () => {
      const [t] = (await call('DescribeTasks', { TaskIds: [taskId] })).Data as Row[];
      return Number(t?.BytesDone) > 4 * MiB;
    });
    phone.freeze();
    const frozenAt = performance.now();
    try {
      const child = await waitTask(call, taskId, 30_000);
      expect(child).toMatchObject({ TaskStatus: 'Failed', ErrorCode: 'InstanceUnreachable' });
      // the watchdog ends the run it froze (transient: retried); each rerun's handshake then
      // meets the connect timeout, and the third run's error is the one that stays
      expect(child.Attempts).toBe(3);
      expect(String(child.ErrorMsg)).toContain('no ADB handshake within 1000 ms');
      expect(performance.now() - frozenAt).toBeLessThan(10_000);
    } finally {
      phone.thaw();
    }
    const thawedAt = performance.now();
    const again = await waitTask(call, await backup(), 60_000);
    expect(again).toMatchObject({ TaskStatus: 'Finished' });
    expect(performance.now() - thawedAt).toBeLessThan(30_000);
  }, 90_000);
});
