import { join, resolve } from 'node:path';
import type { DriverConfig, StorageConfig } from '../config.ts';
import { ERRORS } from '../errors.ts';
import { FsObjectStore } from './fs-object-store.ts';
import { assertEndpoint } from './object-key.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-object-store.ts';

// Maps an API caller's UploadEndpoint to a driver. Drivers are cached per config object and endpoint, so an
// S3 client's connection pool is shared by every task that writes to the same endpoint.

const cache = new WeakMap<StorageConfig, Map<string, ObjectStore>>();

/** The store behind `endpoint`: its own entry in `config.endpoints`, else `config.default`, else an error. */
export function objectStoreFor(endpoint: string, config: StorageConfig, dataDir: string): ObjectStore {
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
  const store = build(driver, name, dataDir);
  stores.set(cacheKey, store);
  return store;
}

function build(driver: DriverConfig, endpoint: string, dataDir: string): ObjectStore {
  switch (driver.driver) {
    case 'fs':
      return new FsObjectStore(join(resolve(dataDir), 'objects', endpoint));
    case 's3':
      return new S3ObjectStore(driver);
    default: {
      const unknown: never = driver;
      throw new Error(`unknown storage driver ${JSON.stringify(unknown)}`);
    }
  }
}
