import { constants as C, promises as fsp } from 'node:fs';
import type { AdbStream } from './adb-stream.ts';
import type { ConfinedFs } from './confined-fs.ts';
import { readExact } from './exact-reader.ts';
import { fail, ReplyBatch, reply } from './sync-io.ts';
import {
  dentV1,
  dentV2,
  errnoOf,
  failErrno,
  failMessage,
  ID,
  idWithLength,
  SYNC_DATA_MAX,
  SYNC_PATH_MAX,
  statV1,
  statV2,
} from './sync-messages.ts';
import { receiveFile } from './sync-send.ts';

// The `sync:` service (daemon/file_sync_service.cpp): requests are `id u32, len u32, path`.
// As in adbd, a failed RECV or SEND answers FAIL and ends the session.

export async function runSync(stream: AdbStream, fs: ConfinedFs): Promise<void> {
  try {
    while (await handleRequest(stream, fs));
    stream.end();
  } catch (err) {
    stream.destroy(err as Error);
  }
}

async function handleRequest(stream: AdbStream, fs: ConfinedFs): Promise<boolean> {
  const header = await readExact(stream, 8);
  if (!header) return false;
  const id = header.readUInt32LE(0);
  const length = header.readUInt32LE(4);
  if (id === ID.QUIT) return false;
  if (length > SYNC_PATH_MAX) return fail(stream, failMessage('path too long'));
  const raw = await readExact(stream, length);
  if (!raw) return false;
  const path = raw.toString('utf8');
  switch (id) {
    case ID.STAT:
      return reply(stream, statV1(await lstatAt(fs, path, false).catch(() => null)));
    case ID.LST2:
    case ID.STA2:
      return reply(
        stream,
        await lstatAt(fs, path, id === ID.STA2).then(
          (st) => statV2(id, st, 0),
          (err) => statV2(id, null, errnoOf(err)),
        ),
      );
    case ID.LIST:
    case ID.LIS2:
      await list(stream, fs, path, id === ID.LIS2);
      return true;
    case ID.RECV:
      return sendFile(stream, fs, path);
    case ID.SEND:
      return receiveFile(stream, fs, path);
    default:
      return fail(stream, failMessage(`unknown command ${id.toString(16).padStart(8, '0')}`));
  }
}

function lstatAt(fs: ConfinedFs, path: string, follow: boolean) {
  return fs.resolve(path, follow).then((host) => fs.withEntry(host, (entry) => fsp.lstat(entry, { bigint: true })));
}

async function list(stream: AdbStream, fs: ConfinedFs, path: string, v2: boolean): Promise<void> {
  const dent = v2 ? dentV2 : dentV1;
  const out = new ReplyBatch(stream);
  try {
    const host = await fs.resolve(path, true);
    await fs.withEntry(host, async (entry) => {
      const dir = await fs.openEntry(entry, C.O_RDONLY | C.O_DIRECTORY);
      try {
        const pinned = `/proc/self/fd/${dir.fd}`;
        // adbd lists with readdir, which includes "." and ".."; ".." of "/" is "/" itself.
        await out.add(dent(await fsp.lstat(`${pinned}/.`, { bigint: true }), '.'));
        const parent = await lstatAt(fs, `${path}/..`, true).catch(() => null);
        if (parent) await out.add(dent(parent, '..'));
        for await (const d of await fsp.opendir(pinned, { bufferSize: 64 })) {
          if (stream.isHungUp) return;
          const st = await fsp.lstat(`${pinned}/${d.name}`, { bigint: true }).catch(() => null);
          if (st) await out.add(dent(st, d.name));
        }
      } finally {
        await dir.close();
      }
    });
  } catch {
    // adbd answers an unreadable folder with an empty listing
  }
  await out.add(dent(null, ''));
  await out.flush();
}

async function sendFile(stream: AdbStream, fs: ConfinedFs, path: string): Promise<boolean> {
  let file: fsp.FileHandle;
  try {
    const host = await fs.resolve(path, true);
    file = await fs.withEntry(host, (entry) => fs.openEntry(entry, C.O_RDONLY));
  } catch (err) {
    return fail(stream, failErrno('open failed', err));
  }
  const out = new ReplyBatch(stream);
  try {
    for (;;) {
      if (stream.isHungUp) return false;
      const chunk = Buffer.allocUnsafe(8 + SYNC_DATA_MAX);
      let n: number;
      try {
        ({ bytesRead: n } = await file.read(chunk, 8, SYNC_DATA_MAX));
      } catch (err) {
        await out.add(failErrno('read failed', err));
        return false;
      }
      if (n === 0) break;
      chunk.writeUInt32LE(ID.DATA, 0);
      chunk.writeUInt32LE(n, 4);
      await out.add(chunk.subarray(0, 8 + n));
    }
    await out.add(idWithLength(ID.DONE, 0));
    return true;
  } finally {
    await out.flush();
    await file.close();
  }
}
