import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ERRORS } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { type Sidecar, sidecarSchema } from './archive/manifest.ts';

// The sidecar `<object>.json` is written last: its presence is what marks an archive complete.

const MAX_SIDECAR = 4 * 1024 * 1024;

export const sidecarKey = (key: string) => `${key}.json`;

export async function writeSidecar(store: ObjectStore, bucket: string, key: string, sidecar: Sidecar): Promise<void> {
  const body = Readable.from([Buffer.from(`${JSON.stringify(sidecar, null, 2)}\n`)]);
  await store.put(bucket, sidecarKey(key), body, { ifNoneMatch: true });
}

export async function readSidecar(store: ObjectStore, bucket: string, key: string): Promise<Sidecar> {
  const head = await store.head(bucket, sidecarKey(key));
  if (!head) throw ERRORS.corruptBackup(`its sidecar ${sidecarKey(key)} is missing, so the archive may be incomplete`);
  if (head.size > MAX_SIDECAR) throw ERRORS.corruptBackup(`its sidecar is ${head.size} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await text(await store.get(bucket, sidecarKey(key))));
  } catch {
    throw ERRORS.corruptBackup('its sidecar is not JSON');
  }
  const sidecar = sidecarSchema.safeParse(parsed);
  if (!sidecar.success) throw ERRORS.corruptBackup(`its sidecar is invalid: ${sidecar.error.issues[0]?.message}`);
  return sidecar.data;
}
