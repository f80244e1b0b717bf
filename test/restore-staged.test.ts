import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInstanceFacts } from '../src/backup/instance-facts.ts';
import { recoverApps } from '../src/backup/recover-apps.ts';
import { undoInterruptedRestores } from '../src/backup/restore/interrupted.ts';
import { connectAdb } from '../src/devices/adb/connect.ts';
import type { Device } from '../src/devices/device.ts';
import { objectStoreFor } from '../src/storage/endpoints.ts';
import { client } from './helpers/clients.ts';
import { type Stack, startStack } from './helpers/stack.ts';
import { snapshot } from './helpers/tree.ts';
import { type Row, waitTask } from './helpers/wait.ts';

// The staged apply under faults: a restore that fails while staging or installing leaves the
// target exactly as it was, one that fails while swapping an app's parts in puts its previous
// folders back, and no staging folder survives either. Faults are injected into the real device
// layer (against an emulated phone) at the step under test.

const APPS = ['com.example.notes', 'com.example.gallery'];
const ENDPOINT = 'oss-cn-hangzhou.aliyuncs.com';

let stack: Stack;
let job: { bucket: string; key: string; recorded: { sha256: string | null; size: number } };
const connections: Device[] = [];

beforeAll(async () => {
  stack = await startStack({ phones: 2 });
  const call = client('openapi-core V3', stack.url, stack.key);
  const res = await call('BackupApp', {
    AndroidInstanceIdList: [stack.ids[0]],
    SourceAppList: APPS,
    BackupFilePath: 'oss://faults/src/',
    UploadEndpoint: ENDPOINT,
  });
  expect((await waitTask(call, String(res.TaskId), 120_000)).TaskStatus).toBe('Finished');
  const file = await stack.service.db.backupFiles.get('default', String((res.Data as Row[])[0]?.BackupFileId));
  if (!file) throw new Error('no backup file');
  job = { bucket: file.bucket, key: file.objectKey, recorded: file };
}, 180_000);

afterAll(async () => {
  for (const d of connections) await d.close();
  await stack?.close();
});

/** the real device of phone 1, failing the call `when` picks */
async function faulty(when: (method: string, args: unknown[], calls: Map<string, number>) => boolean): Promise<Device> {
  const real = await connectAdb(stack.phones[1]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
  connections.push(real);
  const calls = new Map<string, number>();
  return new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const name = String(prop);
        calls.set(name, (calls.get(name) ?? 0) + 1);
        if (when(name, args, calls)) return Promise.reject(new Error(`injected fault in ${name}`));
        return value.apply(target, args);
      };
    },
  });
}

async function restoreWith(device: Device) {
  const instance = await stack.service.db.instances.get('default', stack.ids[1] as string);
  if (!instance) throw new Error('no instance');
  const target = await readInstanceFacts(instance, device);
  const store = objectStoreFor(ENDPOINT, { default: { driver: 'fs' }, endpoints: {} }, stack.dataDir);
  const ctx = { signal: new AbortController().signal, progress: () => {}, fence: async () => {} };
  return recoverApps({ ...job, target }, device, store, ctx);
}

/**
 * everything under /data but the system server's own files (a force-stop rewrites the package
 * database with the same content), plus what the package manager says of each app
 */
async function phoneState() {
  const tree = snapshot(join(stack.phones[1]?.phone.root as string, 'data'), {
    dirMtimes: false,
    skip: (rel) => rel === 'system',
  });
  const device = await connectAdb(stack.phones[1]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
  try {
    const packages = await Promise.all(APPS.map((p) => device.packageInfo(p)));
    return { tree, packages };
  } finally {
    await device.close();
  }
}
const appData = (pkg: string) => {
  const root = stack.phones[1]?.phone.root as string;
  return [join(root, 'data/user/0', pkg), join(root, 'data/user_de/0', pkg)].map((d) =>
    snapshot(d, { dirMtimes: false }),
  );
};

/** no .cpb-* staging or trash folder anywhere an app's folders live */
function leftovers(): string[] {
  const root = stack.phones[1]?.phone.root as string;
  const places = [
    'data/local/tmp',
    'data/user/0',
    'data/user_de/0',
    ...['data', 'obb', 'media'].map((d) => `data/media/0/Android/${d}`),
  ];
  return places.flatMap((p) =>
    readdirSync(join(root, p))
      .filter((n) => n.startsWith('.cpb-'))
      .map((n) => `${p}/${n}`),
  );
}

describe('a restore that fails', () => {
  it('while staging the second app leaves the target exactly as it was', async () => {
    const before = await phoneState();
    let parts = 0;
    const device = await faulty((m, args) => m === 'tarIn' && String(args[0]).includes('gallery') && ++parts === 2);
    await expect(restoreWith(device)).rejects.toThrow(/injected fault in tarIn/);
    expect(leftovers()).toEqual([]);
    expect(await phoneState()).toEqual(before);
  }, 60_000);

  it('when staging leaves a part short (the count check) leaves the target exactly as it was', async () => {
    const before = await phoneState();
    const device = await faulty(() => false);
    const real = device.countEntries.bind(device);
    device.countEntries = async (dir: string) => (await real(dir)) - (dir.includes('-new-com.example.notes') ? 1 : 0);
    await expect(restoreWith(device)).rejects.toThrow(/staging com\.example\.notes\/\w+ left \d+ entries of \d+/);
    expect(leftovers()).toEqual([]);
    expect(await phoneState()).toEqual(before);
  }, 60_000);

  it('when pm refuses the first app’s APKs leaves the target exactly as it was', async () => {
    const before = await phoneState();
    const device = await faulty((m) => m === 'install');
    await expect(restoreWith(device)).rejects.toThrow(/injected fault in install/);
    expect(leftovers()).toEqual([]);
    expect(await phoneState()).toEqual(before);
  }, 60_000);

  it('while swapping an app’s parts in puts its previous folders back', async () => {
    const before = appData('com.example.notes');
    const gallery = appData('com.example.gallery');
    // the DE part is relabelled after CE was swapped in: both must come back as they were
    const device = await faulty((m, args) => m === 'relabel' && String(args[0]).startsWith('/data/user_de/0/'));
    await expect(restoreWith(device)).rejects.toThrow(/injected fault in relabel/);
    expect(leftovers()).toEqual([]);
    expect(appData('com.example.notes')).toEqual(before);
    expect(appData('com.example.gallery')).toEqual(gallery);
  }, 60_000);

  it('on a phone whose storage is full fails with DeviceStorageFull and leaves the target as it was', async () => {
    const before = await phoneState();
    const tmp = join(stack.phones[1]?.phone.root as string, 'data/local/tmp');
    // a full /data: the APKs cannot be staged (what the phone's own tools say then is mapped)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', tmp]);
    try {
      execFileSync('sh', ['-c', `dd if=/dev/zero of='${tmp}/filler' bs=4k 2>/dev/null || true`]);
      await expect(restoreWith(await faulty(() => false))).rejects.toMatchObject({ code: 'DeviceStorageFull' });
    } finally {
      execFileSync('umount', [tmp]);
    }
    expect(leftovers()).toEqual([]);
    expect(await phoneState()).toEqual(before);
  }, 60_000);

  it('killed mid-swap (nothing more reaches the phone) is undone by the next task before it starts', async () => {
    // the apps' data: the APKs it installed as an update stay (the re-run installs them again)
    const data = () =>
      ['data/user', 'data/user_de', 'data/media'].map((d) =>
        snapshot(join(stack.phones[1]?.phone.root as string, d), { dirMtimes: false }),
      );
    const before = data();
    let dead = false;
    // the process "dies" as the second part is relabelled: no rollback, no clean-up reaches the phone
    const device = await faulty((m, args) => {
      if (m === 'close') return false;
      if (m === 'relabel' && String(args[0]).startsWith('/data/user_de/0/')) dead = true;
      return dead;
    });
    await expect(restoreWith(device)).rejects.toThrow(/injected fault/);
    expect(leftovers().length).toBeGreaterThan(0);
    expect(data()).not.toEqual(before);
    const next = await connectAdb(stack.phones[1]?.address as string, { keyDir: join(stack.dataDir, 'adb') });
    connections.push(next);
    const undone = await undoInterruptedRestores(next);
    expect(undone).toContain("com.example.notes/ce: the target's own folder put back");
    expect(leftovers()).toEqual([]);
    expect(data()).toEqual(before);
    expect(await undoInterruptedRestores(next)).toEqual([]);
  }, 60_000);

  it('and then succeeds once the fault is gone', async () => {
    const result = await restoreWith(await faulty(() => false));
    expect(result.apps).toEqual(APPS);
    expect(leftovers()).toEqual([]);
  }, 60_000);
});
