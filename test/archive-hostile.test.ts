import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type ArchiveEvent, readArchive } from '../src/backup/archive/archive-reader.ts';
import { type CraftEntry, craftArchive, craftArchiveStream } from './helpers/craft-archive.ts';
import { rawManifest } from './helpers/test-manifest.ts';

// Archives made to attack the restore, each with digests that match, so only the entry rules and
// the reader's bounds stand between them and a phone: link chains that leave the app's folders
// (also across parts and in any order), entries the phone must never get, and metadata that
// claims far more memory than the archive is worth.

const PKG = 'com.example.notes';
const ce = `apps/${PKG}/ce`;
const de = `apps/${PKG}/de`;
const media = `apps/${PKG}/media`;
const PARTS = ['ce', 'de', 'media'];

const manifest = rawManifest({ parts: PARTS });

/** The APK and every part's folder, then `entries` placed in their part (parts keep manifest order). */
function withFolders(entries: CraftEntry[]): CraftEntry[] {
  const inPart = (p: string) => entries.filter((e) => e.path.startsWith(`apps/${PKG}/${p}/`));
  const elsewhere = entries.filter((e) => !PARTS.some((p) => e.path.startsWith(`apps/${PKG}/${p}/`)));
  return [
    { path: `apps/${PKG}/apk/base.apk`, body: 'apk!!' },
    ...PARTS.flatMap((p): CraftEntry[] => [{ path: `apps/${PKG}/${p}/`, type: 'directory' }, ...inPart(p)]),
    ...elsewhere,
  ];
}

async function read(object: Buffer): Promise<ArchiveEvent[]> {
  const out: ArchiveEvent[] = [];
  for await (const ev of readArchive(Readable.from([object]))) out.push(ev);
  return out;
}

const readEntries = (entries: CraftEntry[]) => read(craftArchive(manifest, withFolders(entries)).object);
const refusal = (entries: CraftEntry[]) =>
  readEntries(entries).then(
    () => new Error('accepted'),
    (e: Error) => e,
  );
const link = (path: string, target: string): CraftEntry => ({ path, type: 'symlink', link: target });

describe('symlink chains, resolved against every link of the package', () => {
  it.each([
    [
      'an absolute link back into its folder through a link to another part',
      [link(`${ce}/x`, `/data/user_de/0/${PKG}`), link(`${ce}/z`, `/data/user/0/${PKG}/x/..`)],
    ],
    [
      'the same with the link in the other part',
      [link(`${de}/x`, `/data/user/0/${PKG}`), link(`${ce}/z`, `/data/user_de/0/${PKG}/x/..`)],
    ],
    [
      'the same through the /data/data spelling',
      [link(`${de}/x`, `/data/data/${PKG}`), link(`${media}/z`, `/data/user_de/0/${PKG}/x/..`)],
    ],
    [
      'a relative climb after a link to external storage',
      [link(`${media}/x`, `/sdcard/Android/data/${PKG}`), link(`${media}/z`, 'x/a/../..')],
    ],
    [
      'a chain of two links that ends above the folder',
      [
        link(`${ce}/a`, `/data/user_de/0/${PKG}/b`),
        link(`${de}/b`, `/storage/emulated/0/Android/media/${PKG}`),
        link(`${ce}/z`, `/data/user/0/${PKG}/a/c/../..`),
      ],
    ],
  ])('refuses %s', async (_name, entries) => {
    for (const order of [entries, [...entries].reverse()]) {
      const err = await refusal(order);
      expect(err, String(err)).toMatchObject({ code: 'UnsafeBackupEntry' });
      expect(err.message).toMatch(/through another symlink/);
    }
  });

  it('refuses a link loop, which the phone could never resolve', async () => {
    const err = await refusal([link(`${ce}/a`, 'b'), link(`${ce}/b`, `/data/data/${PKG}/a`)]);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect(err.message).toMatch(/loop/);
  });

  it('refuses more links in a row than the phone follows, whatever their order', async () => {
    const chain = (n: number) => [
      link(`${ce}/l0`, 'files'),
      ...Array.from({ length: n - 1 }, (_, i) => link(`${ce}/l${i + 1}`, `l${i}`)),
    ];
    for (const order of [chain(45), chain(45).reverse()]) {
      const err = await refusal(order);
      expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
      expect(err.message).toMatch(/too many symlinks/);
    }
    for (const order of [chain(20), chain(20).reverse()])
      expect((await readEntries(order)).at(-1)).toMatchObject({ kind: 'done' });
  });

  it('refuses an absolute link that climbs out of the folder it names, even to come back', async () => {
    const err = await refusal([link(`${ce}/up`, `/data/user/0/${PKG}/files/../../${PKG}/files`)]);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect(err.message).toMatch(/escapes its folder/);
  });

  it('refuses an entry under a link that comes after it', async () => {
    const err = await refusal([{ path: `${ce}/d/f`, body: 'x' }, link(`${ce}/d`, `/data/user_de/0/${PKG}`)]);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect(err.message).toMatch(/through a symlink/);
  });

  it('refuses a part folder that is not a directory', async () => {
    const entries = withFolders([]).map((e) =>
      e.path === `${de}/` ? link(`apps/${PKG}/de`, `/data/user/0/${PKG}`) : e,
    );
    const err = await read(craftArchive(manifest, entries).object).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect((err as Error).message).toMatch(/must be a directory/);
  });

  it('keeps the links apps make: relative, into their own folders, through each other, dangling', async () => {
    const evs = await readEntries([
      { path: `${ce}/files/`, type: 'directory' },
      { path: `${ce}/files/a.txt`, body: 'a' },
      link(`${ce}/files/rel`, 'a.txt'),
      link(`${ce}/up`, 'files/../files/a.txt'),
      link(`${ce}/own`, `/data/data/${PKG}/files`),
      link(`${ce}/via`, 'own/sub/..'),
      link(`${ce}/deeper`, `/data/user/0/${PKG}/own/a.txt`),
      link(`${ce}/nowhere`, 'gone/away'),
      link(`${de}/to-ce`, `/data/user/0/${PKG}/files`),
      link(`${de}/chain`, 'to-ce/a.txt'),
      link(`${media}/ext`, `/storage/emulated/0/Android/media/${PKG}/photos`),
    ]);
    expect(evs.at(-1)).toMatchObject({ kind: 'done' });
    expect(evs.filter((e) => e.kind === 'entry' && e.entry.header.type === 'symlink')).toHaveLength(9);
  });
});

describe('entries the phone must never get', () => {
  const hardlink = (path: string, to: string): CraftEntry => ({ path, type: 'hardlink', link: to });
  const secret = { path: `${de}/secret`, body: 'de only' };

  it('keeps a hard link to an earlier file of its folder', async () => {
    const evs = await readEntries([{ path: `${ce}/a.txt`, body: 'a' }, hardlink(`${ce}/b.txt`, `${ce}/a.txt`)]);
    expect(evs.at(-1)).toMatchObject({ kind: 'done' });
  });

  it.each([
    ['outside the archive', [hardlink(`${ce}/passwd`, '/data/system/packages.xml')]],
    ['in another part', [secret, hardlink(`${ce}/s`, `${de}/secret`)]],
    ['climbing into another part', [secret, hardlink(`${ce}/s`, `${ce}/../de/secret`)]],
    ['of another package', [hardlink(`${ce}/s`, 'apps/com.example.other/ce/a.txt')]],
    ['to a file that comes later', [hardlink(`${ce}/b.txt`, `${ce}/a.txt`), { path: `${ce}/a.txt`, body: 'a' }]],
  ])('refuses a hard link %s', async (_name, entries) => {
    const err = await refusal(entries);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect(err.message).toMatch(/hard link to something that is not an earlier file of the same folder/);
  });

  it('refuses a block device (char devices: archive-rules.test.ts)', async () => {
    const err = await refusal([{ path: `${ce}/sda`, type: 'block' }]);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect(err.message).toMatch(/block entries are not allowed/);
  });

  it('refuses a FIFO in a part the manifest does not list', async () => {
    const err = await refusal([{ path: `apps/${PKG}/obb/ipc`, type: 'fifo' }]);
    expect(err).toMatchObject({ code: 'UnsafeBackupEntry' });
    expect(err.message).toMatch(/part obb is not in the manifest/);
  });
});

describe('metadata that claims more memory than the archive is worth', () => {
  const MiB = 2 ** 20;
  const inUse = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };

  it('refuses a 200 MB SHA256SUMS of a few KB compressed without holding it', async () => {
    const claim = 200 * MiB;
    const chunk = Buffer.alloc(MiB, `${'0'.repeat(64)}  apps/${PKG}/ce/files/padding\n`);
    const sums = {
      size: claim,
      *body() {
        for (let sent = 0; sent < claim; sent += chunk.length) yield chunk;
      },
    };
    const { object } = await craftArchiveStream(manifest, withFolders([]), { claimedSums: sums });
    expect(object.length).toBeLessThan(MiB);
    (globalThis as { gc?: () => void }).gc?.();
    const before = inUse();
    const rssBefore = process.memoryUsage().rss;
    let peak = before;
    let rssPeak = rssBefore;
    const sample = setInterval(() => {
      peak = Math.max(peak, inUse());
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 1);
    const err = await read(object).catch((e: Error) => e);
    clearInterval(sample);
    peak = Math.max(peak, inUse());
    const grown = `heap + buffers grew ${((peak - before) / MiB).toFixed(1)} MB, rss ${((rssPeak - rssBefore) / MiB).toFixed(1)} MB`;
    console.info(`SHA256SUMS claiming ${claim / MiB} MB in ${object.length} bytes: ${grown}`);
    expect(err, grown).toMatchObject({ code: 'BackupFileCorrupted' });
    expect(peak - before, grown).toBeLessThan(32 * MiB);
  });

  it('refuses a pax header over 64 KiB, and pax headers that add up to more', async () => {
    const KiB = 1024;
    const file = (pax: Record<string, string>[]) => [{ path: `${ce}/files/a.txt`, body: 'a', pax }];
    const ok = await readEntries(file([{ comment: 'x'.repeat(30 * KiB) }]));
    expect(ok.at(-1)).toMatchObject({ kind: 'done' });
    const tooMuch: Record<string, string>[][] = [
      [{ comment: 'x'.repeat(65 * KiB) }],
      // each under the limit, but all kept until the entry
      [{ a: 'x'.repeat(30 * KiB) }, { b: 'x'.repeat(30 * KiB) }, { c: 'x'.repeat(30 * KiB) }],
    ];
    for (const pax of tooMuch) {
      const err = await refusal(file(pax));
      expect(err, String(err)).toMatchObject({ code: 'BackupFileCorrupted' });
      expect(err.message).toMatch(/metadata records of one entry exceed 65536 bytes/);
    }
  });

  it.each([
    ['a byte changed at its end', (right: string) => `${right.slice(0, -2)}${right.at(-2) === '0' ? '1' : '0'}\n`],
    ['a line more', (right: string) => `${right}${right.split('\n')[0]}\n`],
    ['a line less', (right: string) => right.split('\n').slice(1).join('\n')],
    ['no final newline', (right: string) => right.slice(0, -1)],
  ])('refuses a SHA256SUMS with %s, compared as it streams', async (_name, sums) => {
    const entries = withFolders([{ path: `${ce}/files/a.txt`, body: 'a' }]);
    expect((await read(craftArchive(manifest, entries, { sums: (right) => right }).object)).at(-1)).toMatchObject({
      kind: 'done',
    });
    const err = await read(craftArchive(manifest, entries, { sums }).object).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'BackupFileCorrupted' });
    expect((err as Error).message).toMatch(/do not match SHA256SUMS/);
  });
});
