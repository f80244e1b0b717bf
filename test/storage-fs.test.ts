import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { TEMP_PREFIX } from '../src/storage/object-key.ts';

// What only the fs driver has: files, folders, and real write failures from the kernel.

const base = mkdtempSync(join(tmpdir(), 'cpb-fsdrv-'));
const MiB = 1024 * 1024;

// A 1 MiB tmpfs gives a real ENOSPC. Mounting needs root (which tests here run as); elsewhere the test is skipped.
const tiny = join(base, 'tiny');
mkdirSync(tiny);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', tiny]).status === 0;

afterAll(() => {
  if (mounted) spawnSync('umount', [tiny]);
  rmSync(base, { recursive: true, force: true });
});

const bytes = (n: number) => Readable.from([Buffer.alloc(n, 7)]);

describe('FsObjectStore', () => {
  it.skipIf(!mounted)('reports a full disk clearly and leaves no temp file behind', async () => {
    const store = new FsObjectStore(tiny);
    const err = await store.put('bkt', 'backups/big', bytes(2 * MiB)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'StorageQuotaExceeded', httpStatus: 507 });
    expect((err as Error).message).toBe(
      'The object store has no space left: writing oss://bkt/backups/big: no space left on device (ENOSPC)',
    );
    expect(readdirSync(join(tiny, 'bkt', 'backups'))).toEqual([]);
    expect(await store.head('bkt', 'backups/big')).toBeNull();
    // the space came back: a small object fits again
    expect(await store.put('bkt', 'backups/small', bytes(1000))).toBe(1000);
  });

  it('reports a root it cannot create folders in, without the host path', async () => {
    const file = join(base, 'not-a-folder');
    writeFileSync(file, 'x');
    const store = new FsObjectStore(join(file, 'objects'));
    const err = await store.put('bkt', 'k', bytes(10)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'StorageOperationFailed' });
    expect((err as Error).message).toBe('The object store failed: writing oss://bkt/k: not a directory (ENOTDIR)');
    expect((err as Error).message).not.toContain(base);
    expect(await store.head('bkt', 'k')).toBeNull();
  });

  it('keeps an object invisible until its stream has ended', async () => {
    const root = join(base, 'visible');
    const store = new FsObjectStore(root);
    const body = new PassThrough();
    const put = store.put('bkt', 'dir/obj', body);
    body.write(Buffer.alloc(100_000, 1));
    await new Promise((r) => setTimeout(r, 50));
    const files = readdirSync(join(root, 'bkt', 'dir'));
    expect(files).toHaveLength(1);
    expect(files[0]?.startsWith(TEMP_PREFIX)).toBe(true);
    expect(await store.head('bkt', 'dir/obj')).toBeNull();
    await expect(store.get('bkt', 'dir/obj')).rejects.toMatchObject({ code: 'ObjectNotFound' });
    const listed = [];
    for await (const o of store.list('bkt', '')) listed.push(o);
    expect(listed).toEqual([]);
    body.end(Buffer.alloc(5, 2));
    expect(await put).toBe(100_005);
    expect(readdirSync(join(root, 'bkt', 'dir'))).toEqual(['obj']);
    expect(statSync(join(root, 'bkt', 'dir', 'obj')).mode & 0o777).toBe(0o600);
  });

  it('lists in S3 byte order and treats folders as no objects', async () => {
    const store = new FsObjectStore(join(base, 'order'));
    for (const k of ['b/2', 'a', 'b/1', 'b-c', 'c.json', 'b0']) await store.put('bkt', k, bytes(1));
    const keys = [];
    for await (const o of store.list('bkt', '')) keys.push(o.key);
    expect(keys).toEqual(['a', 'b-c', 'b/1', 'b/2', 'b0', 'c.json']);
    expect(await store.head('bkt', 'b')).toBeNull();
    await expect(store.get('bkt', 'b')).rejects.toMatchObject({ code: 'ObjectNotFound' });
    const none = [];
    for await (const o of store.list('missing-bucket', '')) none.push(o);
    expect(none).toEqual([]);
  });
});
