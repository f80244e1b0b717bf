import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { connectAdb } from '../../src/devices/adb/connect.ts';
import { type AndroidRelease, parseRelease, profileFor } from '../../src/emulator/android/profile.ts';
import { defaultProps, formatBuildProp } from '../../src/emulator/android/props.ts';
import { type Emulator, startEmulator } from '../../src/emulator/emulator.ts';
import { type Service, startService } from '../../src/service.ts';

// The whole system for end-to-end tests: emulated phones with seed apps, the service on a free
// port with its embedded worker and fs store, an account key, and the phones registered.

export interface Stack {
  dir: string;
  dataDir: string;
  url: string;
  key: { accessKeyId: string; accessKeySecret: string };
  phones: Emulator[];
  /** instance ids, one per phone: acp-phone0, acp-phone1 … */
  ids: string[];
  service: Service;
  /** stops the service (giving running tasks `graceMs` to finish) and starts it again */
  restartService(opts?: { graceMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  phones?: number;
  seedApps?: boolean;
  /** per phone: build.prop values to change before it first starts (e.g. another ABI or SDK) */
  buildProps?: (i: number) => Record<string, string>;
  /**
   * per phone: its Android release (default 14, or the release its buildProps name); the
   * phone's profile, layout and build.prop follow it
   */
  android?: (i: number) => AndroidRelease;
  /** per phone: image facts the operator would type in */
  image?: (i: number) => {
    imageId?: string;
    imageVersion?: string;
    imageType?: 'public' | 'custom';
    instanceType?: string;
  };
  /** the config file's contents (DESIGN's JSON shape) */
  configFile?: Record<string, unknown>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'cpb-stack-'));
  const dataDir = join(dir, 'data');
  const phones: Emulator[] = [];
  for (let i = 0; i < (opts.phones ?? 2); i++) {
    const root = join(dir, `phone${i}`);
    const props = opts.buildProps?.(i);
    const named = props?.['ro.build.version.release'];
    const android = opts.android?.(i) ?? (named ? parseRelease(named) : 14);
    if (props) {
      mkdirSync(join(root, 'system'), { recursive: true });
      writeFileSync(
        join(root, 'system/build.prop'),
        formatBuildProp({ ...defaultProps(profileFor(android)), ...props }),
      );
    }
    phones.push(await startEmulator({ root, port: 0, seedApps: opts.seedApps ?? true, android }));
  }
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(opts.configFile ?? {}));
  const flags = { dataDir, port: '0', config: configFile };
  const config = loadConfig({ flags, env: {} });
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  let service = await startService(config, logger, { api: true, worker: true });
  const key = await service.db.accounts.createKey('default');
  const ids: string[] = [];
  for (const [i, phone] of phones.entries()) {
    const device = await connectAdb(phone.address, { keyDir: config.adb.keyDir });
    // the instance record keeps the build facts; ceAvailable is checked at each task
    const { androidVersion, sdk, abi, fingerprint } = await device.properties();
    await device.close();
    const image = opts.image?.(i) ?? {};
    const id = `acp-phone${i}`;
    await service.db.instances.add({
      id,
      account: 'default',
      name: `phone ${i}`,
      adbAddress: phone.address,
      imageId: image.imageId ?? 'img-test',
      imageVersion: image.imageVersion ?? '1.0',
      imageType: image.imageType ?? 'custom',
      instanceType: image.instanceType ?? 'cpm.gx7.10xlarge',
      androidVersion,
      sdk,
      abi,
      fingerprint,
    });
    ids.push(id);
  }
  return {
    dir,
    dataDir,
    get url() {
      return service.url as string;
    },
    key,
    phones,
    ids,
    get service() {
      return service;
    },
    async restartService(opts = {}) {
      await service.close(opts);
      service = await startService(config, logger, { api: true, worker: true });
    },
    async close() {
      await service.close();
      for (const p of phones) await p.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
