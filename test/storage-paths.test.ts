import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { objectStoreFor } from '../src/storage/endpoints.ts';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { assertBucket, assertEndpoint, assertKey, joinKey, parseOssUrl } from '../src/storage/object-key.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'cpb-paths-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const invalid = (param: string) => ({ code: 'InvalidParameter', message: expect.stringContaining(`"${param}"`) });

describe('parseOssUrl', () => {
  it.each([
    ['oss://bucket-1/', { bucket: 'bucket-1', prefix: '' }],
    ['oss://bucket-1', { bucket: 'bucket-1', prefix: '' }],
    ['oss://bucket-1/backups/', { bucket: 'bucket-1', prefix: 'backups/' }],
    ['oss://my.bucket/a/b c/', { bucket: 'my.bucket', prefix: 'a/b c/' }],
  ])('accepts %s', (url, want) => {
    expect(parseOssUrl(url)).toEqual(want);
  });

  it.each([
    'bucket/dir/',
    's3://bucket/dir/',
    'oss://',
    'oss:///dir/',
    'oss://Bucket/dir/',
    'oss://b/dir/',
    'oss://bucket/file',
    'oss://bucket//',
    'oss://bucket/../',
    'oss://bucket/a/../b/',
    'oss://bucket/./',
    'oss://bucket/a\\b/',
    'oss://bucket/a\u0000/',
  ])('rejects %j naming BackupFilePath', (url) => {
    expect(() => parseOssUrl(url)).toThrow(expect.objectContaining(invalid('BackupFilePath')));
  });
});

describe('keys, buckets and endpoints', () => {
  it('joins a prefix and one file name', () => {
    expect(joinKey('', 'bf-1.tar.zst')).toBe('bf-1.tar.zst');
    expect(joinKey('a/b/', 'bf-1.tar.zst')).toBe('a/b/bf-1.tar.zst');
    for (const name of ['', '..', '.', 'a/b', 'a\\b', '.cpb-tmp-x']) {
      expect(() => joinKey('a/', name), name).toThrow(expect.objectContaining(invalid('BackupFileName')));
    }
    expect(() => joinKey('a', 'x')).toThrow(expect.objectContaining({ code: 'InvalidParameter' }));
  });

  it('validates keys', () => {
    for (const ok of ['a', 'a/b.c', 'ünïcødé/文件', 'x'.repeat(1024), '..a/b..', 'a/.hidden']) {
      expect(assertKey(ok)).toBe(ok);
    }
    for (const bad of [
      '',
      '/a',
      'a/',
      'a//b',
      '.',
      '..',
      'a/../b',
      './a',
      'a\\b',
      'a\u0000',
      'a\nb',
      'é'.repeat(513),
    ]) {
      expect(() => assertKey(bad), JSON.stringify(bad)).toThrow(expect.objectContaining(invalid('Key')));
    }
  });

  it('validates buckets and endpoints', () => {
    for (const ok of ['abc', 'my-bucket', 'a.b.c', '1bucket', 'a'.repeat(63)]) expect(assertBucket(ok)).toBe(ok);
    for (const bad of ['ab', 'a'.repeat(64), 'Abc', 'a_b', '-ab', 'ab-', 'a..b', 'a.-b', '192.168.0.1', '..', 'a/b']) {
      expect(() => assertBucket(bad), bad).toThrow(expect.objectContaining(invalid('Bucket')));
    }
    expect(assertEndpoint('OSS-cn-Hangzhou.aliyuncs.com')).toBe('oss-cn-hangzhou.aliyuncs.com');
    expect(assertEndpoint('minio.local:9000')).toBe('minio.local:9000');
    for (const bad of ['', 'a/b', '..', 'a..b', '../etc', 'host:0', 'host:70000', 'http://host', 'a b', 'a\u0000']) {
      expect(() => assertEndpoint(bad), bad).toThrow(expect.objectContaining(invalid('UploadEndpoint')));
    }
  });
});

describe('objectStoreFor', () => {
  const config = loadConfig({ flags: {}, env: {} }).storage;

  it('maps every endpoint to a folder under <dataDir>/objects/<endpoint> by default', async () => {
    const store = objectStoreFor('OSS-cn-hangzhou.aliyuncs.com', config, dataDir);
    expect(store).toBeInstanceOf(FsObjectStore);
    expect(objectStoreFor('oss-cn-hangzhou.aliyuncs.com', config, dataDir)).toBe(store);
    expect(objectStoreFor('other.example.com', config, dataDir)).not.toBe(store);
    await store.put('bkt', 'dir/file', Readable.from([Buffer.from('data')]));
    const path = join(dataDir, 'objects', 'oss-cn-hangzhou.aliyuncs.com', 'bkt', 'dir', 'file');
    expect(readFileSync(path, 'utf8')).toBe('data');
  });

  it('uses an endpoint’s own driver, and refuses unknown endpoints when there is no default', () => {
    const s3 = loadConfig({
      flags: {},
      env: {
        CONFIG_FILE: writeJson({
          storage: {
            default: null,
            endpoints: {
              'oss-cn-beijing.aliyuncs.com': {
                driver: 's3',
                url: 'https://oss-cn-beijing.aliyuncs.com',
                region: 'oss-cn-beijing',
                accessKeyId: 'id',
                secretAccessKey: 'secret',
              },
              'local.store': { driver: 'fs' },
            },
          },
        }),
      },
    }).storage;
    const store = objectStoreFor('oss-cn-beijing.aliyuncs.com', s3, dataDir);
    // the S3 driver loads the AWS SDK on first use; routing gives one cached, non-fs store per endpoint
    expect(store).not.toBeInstanceOf(FsObjectStore);
    expect(objectStoreFor('oss-cn-beijing.aliyuncs.com', s3, dataDir)).toBe(store);
    expect(objectStoreFor('local.store', s3, dataDir)).toBeInstanceOf(FsObjectStore);
    expect(() => objectStoreFor('oss-cn-hangzhou.aliyuncs.com', s3, dataDir)).toThrow(
      expect.objectContaining({ code: 'InvalidUploadEndpoint.NotFound', httpStatus: 400 }),
    );
    expect(() => objectStoreFor('../../etc', config, dataDir)).toThrow(
      expect.objectContaining(invalid('UploadEndpoint')),
    );
    expect(existsSync(join(dataDir, 'etc'))).toBe(false);
  });
});

function writeJson(data: unknown): string {
  const file = join(dataDir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(data));
  return file;
}
