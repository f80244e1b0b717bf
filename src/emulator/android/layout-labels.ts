import { promises as fsp } from 'node:fs';
import { fileKind } from './file-contexts.ts';
import type { LabelStore } from './labels.ts';
import type { PhoneRoot } from './root-path.ts';

// The labels a phone's own folders get when the phone folder is first set up, as init's
// `restorecon --recursive --skip-ce /data` and the image build give them: file_contexts' answer
// for each path. Folders that already have a label keep it (a chcon survives a restart).
// Where the sandbox mounts another filesystem, the mount's root label shows instead of the
// mount point's: procfs is labelled by genfs_contexts (`genfscon proc / u:object_r:proc:s0`,
// sepolicy private/genfs_contexts:4).

const MOUNT_ROOTS: Record<string, string> = { '/proc': 'u:object_r:proc:s0' };

export async function labelLayout(phone: PhoneRoot, labels: LabelStore, phonePaths: string[]): Promise<void> {
  for (const p of ['/', ...phonePaths]) {
    const canonical = await phone.canonical(p, false);
    const st = await fsp.lstat(phone.hostOf(canonical), { bigint: true }).catch(() => null);
    if (!st) continue;
    const context = MOUNT_ROOTS[canonical] ?? labels.contexts.lookup(canonical, fileKind(st));
    if (context) await labels.setDefault(canonical, context);
  }
  await labels.save();
}
