import { constants as C, promises as fsp } from 'node:fs';
import type { AdbStream } from './adb-stream.ts';
import type { ConfinedFs } from './confined-fs.ts';
import { readExact } from './exact-reader.ts';
import { fail, reply } from './sync-io.ts';
import { failErrno, failMessage, ID, idWithLength, SYNC_DATA_MAX } from './sync-messages.ts';

// SEND `path,mode`: DATA chunks then DONE <mtime>; answered only after DONE (adbd's do_send).

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export async function receiveFile(stream: AdbStream, fs: ConfinedFs, spec: string): Promise<boolean> {
  const comma = spec.lastIndexOf(',');
  if (comma < 0) return fail(stream, failMessage('missing , in ID_SEND'));
  const path = spec.slice(0, comma);
  const requested = parseMode(spec.slice(comma + 1));
  let host: string;
  try {
    host = await fs.resolve(path, false, true);
  } catch (err) {
    return failAndDrain(stream, failErrno('secure_mkdirs failed', err));
  }
  return fs.withEntry(host, async (entry) => {
    const st = await fsp.lstat(entry).catch(() => null);
    // Like adbd: replace files and links, but never unlink a folder or a device node.
    if (!st || st.isFile() || st.isSymbolicLink()) await fsp.unlink(entry).catch(() => undefined);
    if ((requested & S_IFMT) === S_IFLNK) return receiveLink(stream, entry);
    // adbd copies the owner's permission bits to group and others.
    let mode = requested & 0o777;
    mode |= (mode >> 3) & 0o070;
    mode |= (mode >> 3) & 0o007;
    return receiveRegular(stream, fs, entry, mode);
  });
}

async function receiveRegular(stream: AdbStream, fs: ConfinedFs, entry: string, mode: number): Promise<boolean> {
  let file: fsp.FileHandle;
  let created = true;
  try {
    file = await fs.openEntry(entry, C.O_WRONLY | C.O_CREAT | C.O_EXCL, mode).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      created = false;
      return fs.openEntry(entry, C.O_WRONLY);
    });
    await file.chmod(mode);
  } catch (err) {
    return failAndDrain(stream, failErrno("couldn't create file", err));
  }
  let ok = false;
  try {
    for (;;) {
      const msg = await readExact(stream, 8);
      if (!msg) return false;
      const id = msg.readUInt32LE(0);
      const size = msg.readUInt32LE(4);
      if (id === ID.DONE) {
        await file.utimes(size, size);
        ok = true;
        break;
      }
      if (id !== ID.DATA) return fail(stream, failMessage('invalid data message'));
      if (size > SYNC_DATA_MAX) return fail(stream, failMessage('oversize data message'));
      const data = await readExact(stream, size);
      if (!data) return false;
      try {
        await file.write(data);
      } catch (err) {
        return failAndDrain(stream, failErrno('write failed', err));
      }
    }
  } finally {
    await file.close();
    if (!ok && created) await fsp.unlink(entry).catch(() => undefined);
  }
  return reply(stream, idWithLength(ID.OKAY, 0));
}

async function receiveLink(stream: AdbStream, entry: string): Promise<boolean> {
  const head = await readExact(stream, 8);
  if (!head) return false;
  if (head.readUInt32LE(0) !== ID.DATA) return fail(stream, failMessage('invalid data message: expected ID_DATA'));
  const size = head.readUInt32LE(4);
  if (size > SYNC_DATA_MAX) return fail(stream, failMessage('oversize data message'));
  const data = await readExact(stream, size);
  if (!data) return false;
  // The client sends the target with its C string terminator.
  const nul = data.indexOf(0);
  const target = (nul < 0 ? data : data.subarray(0, nul)).toString('utf8');
  try {
    await fsp.symlink(target, entry);
  } catch (err) {
    return fail(stream, failErrno('symlink failed', err));
  }
  const done = await readExact(stream, 8);
  if (!done) return false;
  if (done.readUInt32LE(0) !== ID.DONE) return fail(stream, failMessage('invalid data message: expected ID_DONE'));
  const mtime = done.readUInt32LE(4);
  await fsp.lutimes(entry, mtime, mtime).catch(() => undefined);
  return reply(stream, idWithLength(ID.OKAY, 0));
}

/** adbd reports the failure at once, then swallows the file's data up to DONE before ending the session */
async function failAndDrain(stream: AdbStream, message: Buffer): Promise<false> {
  await reply(stream, message);
  for (;;) {
    const msg = await readExact(stream, 8);
    if (!msg || msg.readUInt32LE(0) !== ID.DATA || msg.readUInt32LE(4) > SYNC_DATA_MAX) return false;
    if (!(await readExact(stream, msg.readUInt32LE(4)))) return false;
  }
}

/** strtoul(s, 0): decimal, 0-prefixed octal or 0x-prefixed hex; what does not parse counts as 0 */
function parseMode(text: string): number {
  const m = /^\s*(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)/i.exec(text);
  if (!m) return 0;
  const digits = m[1] as string;
  if (/^0x/i.test(digits)) return Number.parseInt(digits.slice(2), 16);
  if (digits.startsWith('0')) return Number.parseInt(digits, 8);
  return Number.parseInt(digits, 10);
}
