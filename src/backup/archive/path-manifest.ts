import { z } from 'zod';
import { SELINUX_CONTEXT } from '../../android/names.ts';

// The manifest's `paths` section (BackupFile): one record per source path, in archive order.
// Path i's entries are `paths/<i>/…`: a folder is `paths/<i>/` itself and everything below it; a
// file is the single entry `paths/<i>/<its name>`. The record keeps what the top entry's tar
// header cannot: the SELinux label, and for a file the name it is restored under. Parsed as
// untrusted input at restore, like the rest of the manifest.

export const MAX_PATHS = 100;
const MAX_PATH = 4096;

/** an absolute, normalised phone path with no "..", no control characters */
const phonePath = z
  .string()
  .max(MAX_PATH)
  .regex(/^\/[^\u0000-\u001f\u007f]*$/, 'expected an absolute path')
  .refine(
    (p) =>
      p === '/' ||
      !p
        .split('/')
        .slice(1)
        .some((s) => s === '' || s === '.' || s === '..'),
    {
      message: 'expected a normalised path',
    },
  );

export const pathManifestSchema = z.object({
  /** where it was on the phone, and where a restore puts it back */
  path: phonePath,
  type: z.enum(['directory', 'file']),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
  /** permission bits with setgid and sticky (a setuid entry is never archived) */
  mode: z
    .number()
    .int()
    .min(0)
    .max(0o7777)
    .refine((m) => (m & 0o4000) === 0, 'setuid'),
  /** whole seconds, as tar keeps them */
  mtime: z.number().int(),
  /** the SELinux context of the path itself; '' when the phone reports none */
  context: z.union([z.literal(''), z.string().max(255).regex(SELINUX_CONTEXT)]),
  /** ExcludeSourceFilePathList entries inside it, relative ("cache", "a/b"); left out on the phone */
  excludes: z.array(z.string().max(MAX_PATH)).max(100).default([]),
  /** what tar cannot (sockets) or may not (device nodes, setuid files) carry, left out on the phone */
  skipped: z
    .array(z.object({ path: z.string().max(MAX_PATH), type: z.enum(['socket', 'device', 'setuid']) }))
    .max(10_000)
    .default([]),
});

export const failedItemSchema = z.object({
  kind: z.enum(['path', 'app']),
  /** the path or package name as the request gave it */
  item: z.string().max(MAX_PATH),
  reason: z.string().max(2048),
});

export type PathManifest = z.infer<typeof pathManifestSchema>;
export type FailedItem = z.infer<typeof failedItemSchema>;

/** path i's archive prefix, and for a file the whole entry name */
export const pathRoot = (index: number) => `paths/${index}/`;
export const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
