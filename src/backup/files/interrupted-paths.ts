import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { z } from 'zod';
import type { Device } from '../../devices/device.ts';
import { encodeHeader, padding, type TarHeader } from '../archive/tar-header.ts';
import { APK_STAGING_DIR, STAGING_PREFIX } from '../restore/stage-app.ts';
import { putBack } from './apply-paths.ts';
import { scratchOf } from './stage-paths.ts';

// A file restore stages beside targets anywhere under the allowed roots, so a restore killed with
// its process leaves scratch the next task cannot find by scanning known folders (as
// restore/interrupted.ts does for apps). Before it stages anything, a file restore therefore
// writes a journal of its targets on the phone, /data/local/tmp/.cpb-<token>-journal/targets.json
// (through the phone's own tar, as every other write); the journal is removed first when the
// restore ends. The next task on the phone reads any journal left: every target whose own entry
// a swap moved aside (`-pold-`) gets it back, with the excluded entries that had been carried
// into the restored folder, staged copies (`-pnew-`) are removed, then the journal. The target is then as it was before the killed restore, which runs again or failed.

const JOURNAL = /^\.cpb-([0-9a-f]{12})-journal$/;
const FILE = 'targets.json';
const journalSchema = z.array(
  z.object({
    index: z.number().int().nonnegative(),
    path: z.string().startsWith('/'),
    /** the path's excludes: the target's own, carried into the restored folder, go back first */
    excludes: z.array(z.string()).default([]),
  }),
);

export const journalDir = (token: string) => `${APK_STAGING_DIR}/${STAGING_PREFIX}${token}-journal`;

export async function writeJournal(device: Device, token: string, targets: z.input<typeof journalSchema>) {
  const body = Buffer.from(JSON.stringify(targets));
  const mtime = Math.floor(Date.now() / 1000);
  const header: TarHeader = {
    path: FILE,
    type: 'file',
    mode: 0o600,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime,
    linkpath: '',
  };
  const tar = [encodeHeader(header), body, Buffer.alloc(padding(body.length)), Buffer.alloc(1024)];
  await device.tarIn(journalDir(token), Readable.from(tar));
}

/** returns what it undid, for the task's log */
export async function undoInterruptedFileRestores(device: Device): Promise<string[]> {
  const undone: string[] = [];
  const [names = []] = await device.namesIn([APK_STAGING_DIR], STAGING_PREFIX);
  for (const name of names) {
    const token = JOURNAL.exec(name)?.[1];
    if (!token) continue;
    const dir = `${APK_STAGING_DIR}/${name}`;
    const parsed = journalSchema.safeParse(
      await text(device.readFile(`${dir}/${FILE}`))
        .then((t) => JSON.parse(t) as unknown)
        .catch(() => null),
    );
    for (const { index, path, excludes } of parsed.success ? parsed.data : []) {
      const { stage, trash } = scratchOf(token, index, path);
      if (await device.exists(trash)) {
        await putBack(device, path, trash, excludes);
        await device.remove(path);
        await device.move(trash, path);
        undone.push(`${path}: the target's own entry put back`);
      }
      if (await device.exists(stage)) {
        await device.remove(stage);
        undone.push(`${path}: staged copy removed`);
      }
    }
    await device.remove(dir);
  }
  return undone;
}
