import type { Readable } from 'node:stream';

/**
 * Reads exactly `n` bytes from a paused Readable; null when the stream ended first.
 * Only what is asked for is taken, so unread input keeps throttling the sender.
 */
export function readExact(source: Readable, n: number): Promise<Buffer | null> {
  if (n === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      source.off('readable', attempt);
      source.off('end', ended);
      source.off('close', ended);
      source.off('error', failed);
    };
    const attempt = () => {
      const chunk = source.read(n) as Buffer | null;
      if (chunk !== null) {
        cleanup();
        resolve(chunk.length === n ? chunk : null);
      } else if (source.readableEnded || source.destroyed) {
        ended();
      }
    };
    const ended = () => {
      cleanup();
      resolve(null);
    };
    const failed = (err: Error) => {
      cleanup();
      reject(err);
    };
    source.on('readable', attempt);
    source.on('end', ended);
    source.on('close', ended);
    source.on('error', failed);
    attempt();
  });
}
