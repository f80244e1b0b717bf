import type { Readable } from 'node:stream';

/**
 * Reads exactly `n` bytes from a paused Readable; null when the stream ended first.
 * Only what is asked for is taken, so unread input keeps throttling the sender.
 */
export function readExact(source: Readable, n: number): Promise<Buffer | null> {
  if (n === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const attempt = (): boolean => {
      const chunk = source.read(n) as Buffer | null;
      if (chunk !== null) {
        finish(chunk.length === n ? chunk : null);
        return true;
      }
      if (source.readableEnded || source.destroyed) {
        finish(null);
        return true;
      }
      return false;
    };
    const finish = (value: Buffer | null) => {
      source.off('readable', attempt);
      source.off('end', onEnd);
      source.off('close', onEnd);
      source.off('error', reject);
      resolve(value);
    };
    const onEnd = () => finish(null);
    if (attempt()) return;
    source.on('readable', attempt);
    source.once('end', onEnd);
    source.once('close', onEnd);
    source.once('error', reject);
  });
}
