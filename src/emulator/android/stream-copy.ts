import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

// Copies from a stream that may carry more than we want (a shell's stdin after `-S size`): reads
// at most `limit` bytes and leaves the rest unread, honouring back-pressure on both sides.
export async function copyToFile(src: Readable, hostPath: string, limit: number | null): Promise<number> {
  // 'wx': never write through a link planted at the name; opened first so that fails at once
  const dest = (await open(hostPath, 'wx', 0o644)).createWriteStream();
  let copied = 0;
  try {
    while (limit === null || copied < limit) {
      const chunk = src.read() as Buffer | null;
      if (chunk === null) {
        if (src.readableEnded || src.destroyed) break;
        await readableOrEnd(src);
        continue;
      }
      let piece = chunk;
      if (limit !== null && copied + chunk.length > limit) {
        piece = chunk.subarray(0, limit - copied);
        src.unshift(chunk.subarray(limit - copied));
      }
      copied += piece.length;
      if (!dest.write(piece)) await new Promise<void>((resolve) => dest.once('drain', () => resolve()));
    }
  } finally {
    dest.end();
    await finished(dest);
  }
  return copied;
}

function readableOrEnd(src: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      src.off('readable', onReadable);
      src.off('end', onEnd);
      src.off('close', onEnd);
      src.off('error', done);
      err ? reject(err) : resolve();
    };
    const onReadable = () => done();
    const onEnd = () => done();
    src.on('readable', onReadable);
    src.on('end', onEnd);
    src.on('close', onEnd);
    src.on('error', done);
  });
}
