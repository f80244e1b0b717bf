import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// App-like data of a given size, shaped as in notes/performance.md: one large
// semi-compressible file (40%), 1 MB random files (20%), and 20,000 small text files (40%).

const WORDS = 'message contact thread sync cache token photo album user account session draft'.split(' ');

function text(bytes: number): Buffer {
  let s = '';
  while (s.length < bytes) s += `${WORDS[s.length % WORDS.length]} ${Math.floor(Math.random() * 1e6)}\n`;
  return Buffer.from(s.slice(0, bytes));
}

export function writeAppData(dir: string, totalBytes: number, uid: number): number {
  mkdirSync(join(dir, 'small'), { recursive: true });
  mkdirSync(join(dir, 'media'), { recursive: true });
  let written = 0;
  const put = (path: string, body: Buffer) => {
    writeFileSync(path, body);
    chownSync(path, uid, uid);
    written += body.length;
  };
  const big = Math.floor(totalBytes * 0.4);
  const chunks: Buffer[] = [];
  for (let n = 0; n < big; n += 8192) chunks.push(randomBytes(4096), text(4096));
  put(join(dir, 'blob.db'), Buffer.concat(chunks).subarray(0, big));
  const mb = 1024 * 1024;
  for (let i = 0; i < Math.floor((totalBytes * 0.2) / mb); i++) put(join(dir, 'media', `img${i}.jpg`), randomBytes(mb));
  const each = Math.max(64, Math.floor((totalBytes * 0.4) / 20_000));
  for (let i = 0; i < 20_000; i++) {
    const sub = join(dir, 'small', String(i % 100));
    if (i < 100) mkdirSync(sub, { recursive: true });
    put(join(sub, `msg${i}.json`), text(each));
  }
  for (const d of [dir, join(dir, 'small'), join(dir, 'media')]) chownSync(d, uid, uid);
  for (let i = 0; i < 100; i++) chownSync(join(dir, 'small', String(i)), uid, uid);
  return written;
}
