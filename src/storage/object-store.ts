import type { Readable } from 'node:stream';

// The object-store port. Keys are validated by the drivers; a put is visible only once complete.

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

export interface ObjectStore {
  /** writes the stream under bucket/key; nothing is visible under the key until the stream ended
   * and was fully stored; on failure nothing is left behind. Refuses to overwrite when
   * `ifNoneMatch` is set. Resolves with the stored size. The store owns `body`: it is destroyed whenever
   * the put fails or is refused, so a producer feeding it sees the failure. */
  put(
    bucket: string,
    key: string,
    body: Readable,
    opts?: { ifNoneMatch?: boolean; signal?: AbortSignal },
  ): Promise<number>;
  get(bucket: string, key: string, opts?: { signal?: AbortSignal }): Promise<Readable>;
  /** null when the object does not exist */
  head(bucket: string, key: string): Promise<ObjectInfo | null>;
  /** idempotent: deleting a missing object succeeds */
  delete(bucket: string, key: string): Promise<void>;
  list(bucket: string, prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * removes what puts that died left under `prefix` (a crashed process's temp files, multipart
   * uploads never completed or aborted) untouched for `olderThanMs`, except those for `keep`'s
   * keys (puts still running); resolves with how many
   */
  sweepAbandoned(bucket: string, prefix: string, olderThanMs: number, keep?: ReadonlySet<string>): Promise<number>;
}
