import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApkInfo, signerDigestFromTail } from '../src/apk/apk-info.ts';
import { parseManifest } from '../src/apk/manifest.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'apks');
const fixture = (name: string) => path.join(FIXTURES, name);
// what `apksigner verify --print-certs` said when the fixtures were built
const apksignerDigest = (name: string) =>
  /certificate SHA-256 digest: ([0-9a-f]{64})/.exec(readFileSync(`${fixture(name)}.certs.txt`, 'utf8'))?.[1];

describe('readApkInfo', () => {
  it('reads the manifest of a base APK', async () => {
    const info = await readApkInfo(fixture('notes.apk'));
    expect(info).toMatchObject({
      packageName: 'com.example.notes',
      split: null,
      versionCode: 3,
      versionName: '1.2.0',
      minSdk: 24,
      targetSdk: 29,
      permissions: ['android.permission.READ_CONTACTS', 'android.permission.CAMERA', 'android.permission.INTERNET'],
      isSplitRequired: false,
      signatureScheme: 3,
    });
  });

  it('reads a split set', async () => {
    const base = await readApkInfo(fixture('gallery-base.apk'));
    const split = await readApkInfo(fixture('gallery-config.xxhdpi.apk'));
    expect(base).toMatchObject({
      packageName: 'com.example.gallery',
      split: null,
      versionCode: 7,
      isSplitRequired: true,
    });
    expect(split).toMatchObject({ packageName: 'com.example.gallery', split: 'config.xxhdpi', versionCode: 7 });
    expect(split.signatureScheme).toBe(2);
  });

  it.each([
    'notes.apk',
    'notes-v4.apk',
    'notes-other-key.apk',
    'notes-v1-only.apk',
    'gallery-base.apk',
    'gallery-config.xxhdpi.apk',
  ])('gives the signer digest apksigner printed for %s', async (name) => {
    const info = await readApkInfo(fixture(name));
    expect(info.signerDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(info.signerDigest).toBe(apksignerDigest(name));
  });

  it('tells the two signing keys apart, and finds the JAR signature of a v1-only APK', async () => {
    const a = await readApkInfo(fixture('notes.apk'));
    const b = await readApkInfo(fixture('notes-other-key.apk'));
    const v1 = await readApkInfo(fixture('notes-v1-only.apk'));
    expect(a.signerDigest).not.toBe(b.signerDigest);
    expect(v1).toMatchObject({ signatureScheme: 1, signerDigest: a.signerDigest });
  });

  it('rejects files that are not APKs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'apk-test-'));
    await writeFile(path.join(dir, 'junk.apk'), Buffer.alloc(5000, 7));
    await expect(readApkInfo(path.join(dir, 'junk.apk'))).rejects.toThrow(/not a ZIP/);
    const truncated = readFileSync(fixture('notes.apk')).subarray(0, 3000);
    await writeFile(path.join(dir, 'truncated.apk'), truncated);
    await expect(readApkInfo(path.join(dir, 'truncated.apk'))).rejects.toThrow();
  });
});

describe('signerDigestFromTail', () => {
  it('finds the v3/v2 signer in the last bytes of an APK', () => {
    for (const name of ['notes.apk', 'gallery-config.xxhdpi.apk', 'notes-other-key.apk']) {
      const apk = readFileSync(fixture(name));
      expect(signerDigestFromTail(apk.subarray(apk.length - 6000), apk.length)).toBe(apksignerDigest(name));
      expect(signerDigestFromTail(apk, apk.length)).toBe(apksignerDigest(name));
    }
  });

  it('returns null when the tail does not reach the signing block, or there is none', () => {
    const apk = readFileSync(fixture('notes.apk'));
    expect(signerDigestFromTail(apk.subarray(apk.length - 200), apk.length)).toBeNull();
    const v1 = readFileSync(fixture('notes-v1-only.apk'));
    expect(signerDigestFromTail(v1, v1.length)).toBeNull();
    expect(signerDigestFromTail(Buffer.from('not an apk'), 10)).toBeNull();
  });
});

describe('parseManifest', () => {
  it('decodes UTF-8 string pools and android attributes known only by resource id', () => {
    // aapt writes UTF-16 pools (the fixtures); aapt2 writes UTF-8 and may strip attribute names
    // names of android: attributes stripped to '' (the resource map identifies them)
    const strings = [
      '',
      '',
      '',
      'manifest',
      'package',
      'com.example.utf8',
      'uses-permission',
      'android.permission.CAMERA',
      'é 1',
    ];
    const axml = buildAxml(strings, {
      resourceMap: [0x0101021b, 0x01010003, 0x0101021c],
      elements: [
        {
          name: 3,
          attrs: [
            [0, 0x10, 42],
            [4, 0x03, 5],
            [2, 0x03, 8],
          ],
        },
        { name: 6, attrs: [[1, 0x03, 7]] },
      ],
    });
    expect(parseManifest(axml)).toMatchObject({
      packageName: 'com.example.utf8',
      versionCode: 42,
      versionName: 'é 1',
      permissions: ['android.permission.CAMERA'],
    });
  });
});

// A minimal AXML writer: UTF-8 string pool, resource map, elements (second one nested in the first)
function buildAxml(
  strings: string[],
  spec: { resourceMap: number[]; elements: { name: number; attrs: [number, number, number][] }[] },
): Buffer {
  const chunk = (type: number, headerSize: number, body: Buffer) => {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt16LE(headerSize, 2);
    h.writeUInt32LE(8 + body.length, 4);
    return Buffer.concat([h, body]);
  };
  const encoded = strings.map((s) => {
    const bytes = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([s.length, bytes.length]), bytes, Buffer.from([0])]);
  });
  const offsets = Buffer.alloc(4 * strings.length);
  let at = 0;
  encoded.forEach((e, i) => {
    offsets.writeUInt32LE(at, i * 4);
    at += e.length;
  });
  const poolHeader = Buffer.alloc(20);
  poolHeader.writeUInt32LE(strings.length, 0);
  poolHeader.writeUInt32LE(0x100, 8);
  poolHeader.writeUInt32LE(28 + offsets.length, 12);
  let data = Buffer.concat(encoded);
  data = Buffer.concat([data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
  const pool = chunk(0x0001, 28, Buffer.concat([poolHeader, offsets, data]));
  const map = Buffer.alloc(4 * spec.resourceMap.length);
  spec.resourceMap.forEach((id, i) => {
    map.writeUInt32LE(id, i * 4);
  });
  const parts = [pool, chunk(0x0180, 8, map)];
  for (const el of spec.elements) {
    const body = Buffer.alloc(8 + 20 + 20 * el.attrs.length);
    body.writeUInt32LE(0xffffffff, 4);
    body.writeUInt32LE(0xffffffff, 8);
    body.writeUInt32LE(el.name, 12);
    body.writeUInt16LE(20, 16);
    body.writeUInt16LE(20, 18);
    body.writeUInt16LE(el.attrs.length, 20);
    el.attrs.forEach(([name, type, value], i) => {
      const a = 28 + i * 20;
      body.writeUInt32LE(0xffffffff, a);
      body.writeUInt32LE(name, a + 4);
      body.writeUInt32LE(type === 0x03 ? value : 0xffffffff, a + 8);
      body.writeUInt16LE(8, a + 12);
      body.writeUInt8(type, a + 15);
      body.writeUInt32LE(value, a + 16);
    });
    parts.push(chunk(0x0102, 16, body));
  }
  return chunk(0x0003, 8, Buffer.concat(parts));
}
