import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Manifest } from '../../src/backup/archive/manifest.ts';
import { encodeHeader, padding } from '../../src/backup/archive/tar-header.ts';

// Hand-made archives with valid digests holding whatever entries a test wants, so a refusal
// must come from the entry rules rather than from a checksum.

export interface CraftEntry {
  path: string;
  type?: 'file' | 'symlink' | 'directory' | 'fifo' | 'char';
  body?: Buffer | string;
  link?: string;
}

/** `manifest` may be any JSON, to try manifests the schema must refuse or fill in */
export function craftArchive(manifest: Manifest | object, entries: CraftEntry[]): { object: Buffer; sha256: string } {
  let sums = '';
  const blocks: Buffer[] = [];
  const add = (path: string, type: NonNullable<CraftEntry['type']>, body: Buffer | string = '', link = '') => {
    const data = Buffer.from(body);
    blocks.push(encodeHeader({ path, type, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, linkpath: link }));
    blocks.push(data, Buffer.alloc(padding(data.length)));
    if (type === 'file') sums += `${createHash('sha256').update(data).digest('hex')}  ${path}\n`;
  };
  add('cloudphone-backup.json', 'file', JSON.stringify(manifest));
  for (const e of entries) add(e.path, e.type ?? 'file', e.body, e.link);
  add('SHA256SUMS', 'file', sums);
  blocks.push(Buffer.alloc(1024));
  const object = spawnSync('zstd', ['-q', '-c'], { input: Buffer.concat(blocks), maxBuffer: 1 << 30 }).stdout;
  return { object, sha256: createHash('sha256').update(object).digest('hex') };
}
