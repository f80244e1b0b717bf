import { addAbortSignal, Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ERRORS, ServiceError } from '../errors.ts';
import { assertBucket, assertKey, assertPrefix, objectUrl } from './object-key.ts';
import type { ObjectInfo, ObjectStore } from './object-store.ts';
import { STALLED, stallsAreFinal, watchBody } from './s3-timeouts.ts';

// S3-compatible stores (AWS, MinIO, Alibaba OSS through its S3 endpoint). Puts stream through lib-storage's
// multipart Upload, which holds at most queueSize parts in flight plus one being filled, so memory is
// bounded by partSize × (queueSize + 1) whatever the object's size; on failure it aborts the multipart
// upload, so no object and no orphaned parts remain.

export interface S3StoreOptions {
  url: string;
  region: string;
  forcePathStyle: boolean;
  /** both or neither; without them the SDK's default credential chain applies */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** bytes per multipart part, at least 5 MiB (S3's minimum) */
  partSize?: number;
  /** parts uploaded concurrently */
  queueSize?: number;
  /** keys per ListObjectsV2 page */
  listPageSize?: number;
  /**
   * socket inactivity bound on every request, response bodies included: a request that moves no
   * byte for this long fails as a transient StorageOperationFailed, not retried by the SDK
   * (default 60 s)
   */
  requestTimeoutMs?: number;
  /** TCP (and TLS) connect bound (default 10 s) */
  connectTimeoutMs?: number;
}

const MiB = 1024 * 1024;

export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #pageSize: number | undefined;
  readonly #idleMs: number;

  constructor(opts: S3StoreOptions) {
    const { accessKeyId, secretAccessKey } = opts;
    this.#idleMs = opts.requestTimeoutMs ?? 60_000;
    this.#client = new S3Client({
      endpoint: opts.url,
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      // The SDK's default CRC trailers are not understood by OSS and older S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // options for the SDK's own NodeHttpHandler (RequestHandler.create in runtimeConfig.js);
      // socketTimeout is the inactivity bound, requestTimeout only a warn-by-default deadline
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 10_000, socketTimeout: this.#idleMs },
    });
    this.#client.middlewareStack.add(forbidOverwrite, { step: 'build', name: 'ossForbidOverwrite' });
    this.#client.middlewareStack.add(stallsAreFinal, { step: 'deserialize', priority: 'high', name: 'stallsAreFinal' });
    this.#partSize = Math.max(5 * MiB, opts.partSize ?? 8 * MiB);
    this.#queueSize = Math.max(1, opts.queueSize ?? 2);
    this.#pageSize = opts.listPageSize;
  }

  async put(
    bucket: string,
    key: string,
    body: Readable,
    opts: { ifNoneMatch?: boolean; signal?: AbortSignal } = {},
  ): Promise<number> {
    const url = objectUrl(bucket, key);
    try {
      assertBucket(bucket);
      assertKey(key);
      opts.signal?.throwIfAborted();
      // Conditional writes are atomic only where the server supports them; this also refuses early, before
      // any byte is sent, on servers that do.
      if (opts.ifNoneMatch && (await this.head(bucket, key))) throw ERRORS.alreadyExists(`Object ${url}`);
    } catch (err) {
      body.destroy();
      throw err;
    }
    let size = 0;
    let sourceError: unknown;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        cb(null, chunk);
      },
    });
    // only the producer's own errors: lib-storage abandoning `counted` after a failed part
    // destroys it with an AbortError, which must not hide the store's error
    body.on('error', (err) => {
      sourceError ??= err;
      counted.destroy(err);
    });
    counted.on('error', () => {});
    body.pipe(counted);
    if (opts.signal) addAbortSignal(opts.signal, counted);
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: bucket, Key: key, Body: counted, ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}) },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
      return size;
    } catch (err) {
      body.destroy();
      counted.destroy();
      // A failing source is the cause even when lib-storage reports the clean-up's error instead.
      if (sourceError !== undefined) throw sourceError;
      if (isConflict(err)) throw ERRORS.alreadyExists(`Object ${url}`);
      throw s3Error(`writing ${url}`, err);
    }
  }

  async get(bucket: string, key: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    const url = objectUrl(bucket, key);
    const cmd = new GetObjectCommand({ Bucket: assertBucket(bucket), Key: assertKey(key) });
    try {
      const res = await this.#client.send(cmd, { abortSignal: opts.signal });
      if (!(res.Body instanceof Readable)) throw new Error('the response has no body stream');
      const body = watchBody(res.Body, this.#idleMs, (err) => s3Error(`reading ${url}`, err));
      return opts.signal ? addAbortSignal(opts.signal, body) : body;
    } catch (err) {
      if (status(err) === 404) throw ERRORS.objectNotFound(url);
      throw s3Error(`reading ${url}`, err);
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    const cmd = new HeadObjectCommand({ Bucket: assertBucket(bucket), Key: assertKey(key) });
    try {
      const res = await this.#client.send(cmd);
      return { key, size: res.ContentLength ?? 0, modified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (status(err) === 404) return null;
      throw s3Error(`reading ${objectUrl(bucket, key)}`, err);
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    const cmd = new DeleteObjectCommand({ Bucket: assertBucket(bucket), Key: assertKey(key) });
    try {
      await this.#client.send(cmd);
    } catch (err) {
      if (status(err) !== 404) throw s3Error(`deleting ${objectUrl(bucket, key)}`, err);
    }
  }

  async sweepAbandoned(bucket: string, prefix: string, olderThanMs: number, keep: ReadonlySet<string> = new Set()) {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const cmd = new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      });
      const page = await this.#client.send(cmd).catch((err: unknown) => {
        throw s3Error(`listing uploads under ${objectUrl(bucket, prefix)}`, err);
      });
      for (const u of page.Uploads ?? []) {
        // an upload only records when it began: a long backup still running is known by its key
        if (!u.Key || !u.UploadId || keep.has(u.Key)) continue;
        if (Date.now() - (u.Initiated?.getTime() ?? Date.now()) < olderThanMs) continue;
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
        removed++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return removed;
  }

  async *list(bucket: string, prefix: string): AsyncIterable<ObjectInfo> {
    assertBucket(bucket);
    assertPrefix(prefix);
    let token: string | undefined;
    do {
      const cmd = new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix === '' ? undefined : prefix,
        ContinuationToken: token,
        MaxKeys: this.#pageSize,
      });
      const page = await this.#client.send(cmd).catch((err: unknown) => {
        throw s3Error(`listing oss://${bucket}/${prefix}`, err);
      });
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Closes pooled connections; the store must not be used afterwards. */
  destroy(): void {
    this.#client.destroy();
  }
}

// OSS ignores If-None-Match on writes and has its own header for the same promise; other servers ignore it.
const forbidOverwrite =
  // biome-ignore lint/suspicious/noExplicitAny: the SDK types middleware generically over every command
  (next: (args: any) => Promise<any>) => async (args: { input: unknown; request: unknown }) => {
    const request = args.request as { headers?: Record<string, string> };
    if ((args.input as { IfNoneMatch?: string }).IfNoneMatch === '*' && request.headers) {
      request.headers['x-oss-forbid-overwrite'] = 'true';
    }
    return next(args);
  };

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isConflict(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  // 412: S3/MinIO If-None-Match; 409: AWS's concurrent conditional write, OSS's FileAlreadyExists.
  return (
    status(err) === 412 ||
    name === 'PreconditionFailed' ||
    name === 'FileAlreadyExists' ||
    name === 'ConditionalRequestConflict'
  );
}

function s3Error(what: string, err: unknown): Error {
  if (err instanceof ServiceError || (err as Error | undefined)?.name === 'AbortError') return err as Error;
  const e = err as Error;
  const failure = ERRORS.storageFailed(`${what}: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`, {
    transient: isTransient(err),
  });
  (failure as { cause?: unknown }).cause = err;
  return failure;
}

/** a 5xx, throttling, a timeout or a dropped connection may pass; a 4xx will not */
function isTransient(err: unknown): boolean {
  const code = status(err);
  if (code !== undefined) return code >= 500 || code === 429;
  const e = err as NodeJS.ErrnoException | undefined;
  return (
    ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(e?.code ?? '') ||
    ['TimeoutError', STALLED, 'SlowDown', 'RequestTimeout', 'ThrottlingException'].includes(e?.name ?? '')
  );
}
