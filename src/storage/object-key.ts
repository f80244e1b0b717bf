import { ERRORS } from '../errors.ts';

// Names that reach a driver come from API callers (BackupFilePath, BackupFileName, UploadEndpoint), so every
// bucket, key and endpoint is checked here before any driver turns it into a path or a URL. The rules follow
// supabase/storage's secure-path: no NUL, nothing absolute, no `.`/`..` segments, no backslashes.

/** Prefix of the fs driver's in-progress files; keys may not use it, so listings never see a partial put. */
export const TEMP_PREFIX = '.cpb-tmp-';

const MAX_KEY_BYTES = 1024;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
// C0 controls and DEL: S3 lists keys in XML, where most of them cannot be written back.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A DNS-style bucket name, 3–63 characters, as OSS and S3 accept it; also a safe folder name. */
export function assertBucket(bucket: string, param = 'Bucket'): string {
  const ok =
    typeof bucket === 'string' &&
    bucket.length >= 3 &&
    bucket.length <= 63 &&
    !IPV4.test(bucket) &&
    bucket.split('.').every((label) => LABEL.test(label));
  if (!ok) {
    throw ERRORS.invalidParameter(
      param,
      'a bucket name has 3 to 63 lower-case letters, digits, hyphens and dots and starts and ends with a letter or digit',
    );
  }
  return bucket;
}

function badSegment(segment: string): string | null {
  if (segment === '') return 'empty path segments are not allowed';
  if (segment === '.' || segment === '..') return '"." and ".." segments are not allowed';
  if (segment.startsWith(TEMP_PREFIX)) return `names starting with ${TEMP_PREFIX} are reserved`;
  return null;
}

function badChars(text: string): string | null {
  if (CONTROL.test(text)) return 'control characters are not allowed';
  if (text.includes('\\')) return 'backslashes are not allowed';
  if (Buffer.byteLength(text) > MAX_KEY_BYTES) return `at most ${MAX_KEY_BYTES} bytes are allowed`;
  return null;
}

/** An object key: relative, `/`-separated, no empty, `.` or `..` segments, at most 1024 bytes. */
export function assertKey(key: string, param = 'Key'): string {
  const why =
    typeof key !== 'string' || key === ''
      ? 'an object key must not be empty'
      : (badChars(key) ??
        (key.startsWith('/') ? 'an object key must be relative' : null) ??
        key
          .split('/')
          .map(badSegment)
          .find((m) => m !== null) ??
        null);
  if (why) throw ERRORS.invalidParameter(param, why);
  return key;
}

/** A listing prefix: empty, or every complete segment valid; the last, partial segment only filters names. */
export function assertPrefix(prefix: string, param = 'Prefix'): string {
  if (prefix === '') return prefix;
  const segments = prefix.split('/').slice(0, -1);
  const why =
    badChars(prefix) ??
    (prefix.startsWith('/') ? 'a prefix must be relative' : null) ??
    segments.map(badSegment).find((m) => m !== null) ??
    null;
  if (why) throw ERRORS.invalidParameter(param, why);
  return prefix;
}

const ENDPOINT = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::(\d{1,5}))?$/;

/** Whether `name` is a lower-case host name with an optional port (it becomes a folder name). */
export function isEndpointName(name: string): boolean {
  const m = ENDPOINT.exec(name);
  return m !== null && name.length <= 253 && (m[2] === undefined || (Number(m[2]) > 0 && Number(m[2]) < 65536));
}

/** An UploadEndpoint: a host name with an optional port; returned lower-cased as host names compare. */
export function assertEndpoint(endpoint: string, param = 'UploadEndpoint'): string {
  const name = typeof endpoint === 'string' ? endpoint.toLowerCase() : '';
  if (!isEndpointName(name))
    throw ERRORS.invalidParameter(param, 'the endpoint must be a host name such as oss-cn-hangzhou.aliyuncs.com');
  return name;
}

/** Splits `oss://bucket/dir/` into bucket and key prefix ('' or ending with '/'). */
export function parseOssUrl(url: string, param = 'BackupFilePath'): { bucket: string; prefix: string } {
  const m = typeof url === 'string' ? /^oss:\/\/([^/]+)(?:\/(.*))?$/.exec(url) : null;
  if (!m) throw ERRORS.invalidParameter(param, 'expected oss://<bucket>/<folder>/');
  const bucket = assertBucket(m[1] ?? '', param);
  const prefix = m[2] ?? '';
  if (prefix !== '' && !prefix.endsWith('/')) throw ERRORS.invalidParameter(param, 'the folder must end with "/"');
  if (prefix !== '') assertKey(prefix.slice(0, -1), param);
  return { bucket, prefix };
}

/** Joins a prefix from {@link parseOssUrl} and one file name into a validated key. */
export function joinKey(prefix: string, name: string, param = 'BackupFileName'): string {
  if (prefix !== '' && !prefix.endsWith('/')) throw ERRORS.invalidParameter('Prefix', 'a prefix must end with "/"');
  if (typeof name !== 'string' || name.includes('/'))
    throw ERRORS.invalidParameter(param, 'a file name must not contain "/"');
  assertKey(name, param);
  return assertKey(prefix + name, param);
}

/** How objects are named in messages: the URL a user gave, never a host path. */
export function objectUrl(bucket: string, key: string): string {
  return `oss://${bucket}/${key}`;
}
