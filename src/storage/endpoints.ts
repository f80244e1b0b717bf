import { join, resolve } from 'node:path';
import type { DriverConfig, StorageConfig } from '../config.ts';
import { ERRORS } from '../errors.ts';
import { FsObjectStore } from './fs-object-store.ts';
import { assertEndpoint } from './object-key.ts';
import type { ObjectStore } from './object-store.ts';

// Maps an API caller's UploadEndpoint to a driver. Drivers are cached per config object and endpoint, so an
// S3 client's connection pool is shared by every task that writes to the same endpoint.

type Timeouts = Pick<StorageConfig, 'requestTimeoutMs' | 'connectTimeoutMs'>;
/** the timeouts may be left out (the S3 driver's defaults apply), as tests building a config by hand do */
type StoresConfig = Omit<StorageConfig, keyof Timeouts> & Partial<Timeouts>;

const cache = new WeakMap<StoresConfig, Map<string, ObjectStore>>();

/** The store behind `endpoint`: its own entry in `config.endpoints`, else `config.default`, else an error. */
export function objectStoreFor(endpoint: string, config: StoresConfig, dataDir: string): ObjectStore {
  const name = assertEndpoint(endpoint);
  let stores = cache.get(config);
  if (!stores) {
    stores = new Map();
    cache.set(config, stores);
  }
  const cacheKey = `${resolve(dataDir)}\n${name}`;
  const cached = stores.get(cacheKey);
  if (cached) return cached;
  const driver = config.endpoints[name] ?? config.default;
  if (!driver) throw ERRORS.endpointUnknown(name);
  const store = build(driver, name, dataDir, config);
  stores.set(cacheKey, store);
  return store;
}

function build(driver: DriverConfig, endpoint: string, dataDir: string, config: StoresConfig): ObjectStore {
  switch (driver.driver) {
    case 'fs':
      return new FsObjectStore(join(resolve(dataDir), 'objects', endpoint));
    case 's3':
      return lazyS3({
        ...driver,
        requestTimeoutMs: config.requestTimeoutMs,
        connectTimeoutMs: config.connectTimeoutMs,
      });
    default: {
      const unknown: never = driver;
      throw new Error(`unknown storage driver ${JSON.stringify(unknown)}`);
    }
  }
}

type S3Driver = Extract<DriverConfig, { driver: 's3' }> & Partial<Timeouts>;

/** The AWS SDK costs ~25 MB of memory when loaded: load it only once an S3 endpoint is used. */
function lazyS3(driver: S3Driver): ObjectStore {
  let store: Promise<ObjectStore> | undefined;
  const get = () => {
    store ??= import('./s3-object-store.ts').then(({ S3ObjectStore }) => new S3ObjectStore(driver));
    return store;
  };
  return {
    put: async (bucket, key, body, opts) => (await get()).put(bucket, key, body, opts),
    get: async (bucket, key, opts) => (await get()).get(bucket, key, opts),
    head: async (bucket, key) => (await get()).head(bucket, key),
    delete: async (bucket, key) => (await get()).delete(bucket, key),
    async *list(bucket, prefix) {
      yield* (await get()).list(bucket, prefix);
    },
    sweepAbandoned: async (bucket, prefix, olderThanMs, keep) =>
      (await get()).sweepAbandoned(bucket, prefix, olderThanMs, keep),
  };
}
