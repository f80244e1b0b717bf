import { Readable } from 'node:stream';
import { text as readText } from 'node:stream/consumers';
import { ERRORS, ServiceError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { type Sidecar, sidecarSchema } from './archive/manifest.ts';

// The sidecar `<object>.json` is written last: its presence is what marks an archive complete.

const MAX_SIDECAR = 4 * 1024 * 1024;

export const sidecarKey = (key: string) => `${key}.json`;

export async function writeSidecar(store: ObjectStore, bucket: string, key: string, sidecar: Sidecar): Promise<void> {
  const text = `${JSON.stringify(sidecar, null, 2)}\n`;
  try {
    await store.put(bucket, sidecarKey(key), Readable.from([Buffer.from(text)]), { ifNoneMatch: true });
  } catch (err) {
    // a put whose response was lost and then retried finds its own sidecar: that is a success
    if (!(err instanceof ServiceError) || err.code !== 'ResourceAlreadyExists') throw err;
    const existing = await readText(await store.get(bucket, sidecarKey(key))).catch(() => null);
    if (existing !== text) throw err;
  }
}

export async function readSidecar(store: ObjectStore, bucket: string, key: string): Promise<Sidecar> {
  const head = await store.head(bucket, sidecarKey(key));
  if (!head) throw ERRORS.corruptBackup(`its sidecar ${sidecarKey(key)} is missing, so the archive may be incomplete`);
  if (head.size > MAX_SIDECAR) throw ERRORS.corruptBackup(`its sidecar is ${head.size} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(await store.get(bucket, sidecarKey(key))));
  } catch {
    throw ERRORS.corruptBackup('its sidecar is not JSON');
  }
  const sidecar = sidecarSchema.safeParse(parsed);
  if (!sidecar.success) throw ERRORS.corruptBackup(`its sidecar is invalid: ${sidecar.error.issues[0]?.message}`);
  return sidecar.data;
}
