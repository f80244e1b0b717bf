import { z } from 'zod';
import { DATA_PARTS } from '../../android/layout.ts';
import { APK_NAME, MAX_NAME, PACKAGE_NAME, PERMISSION_NAME } from '../../android/names.ts';
import { instanceSettingsSchema } from '../instance-settings.ts';
import { failedItemSchema, MAX_PATHS, pathManifestSchema } from './path-manifest.ts';

// Version 1 of the archive's manifest, `cloudphone-backup.json`, the archive's first entry.
// Restores parse it as untrusted input, hence the schema rather than a cast.

export const MANIFEST_NAME = 'cloudphone-backup.json';
export const SUMS_NAME = 'SHA256SUMS';
export const ARCHIVE_PARTS = ['apk', ...DATA_PARTS] as const;
export type ArchivePart = (typeof ARCHIVE_PARTS)[number];

// the same shapes the device layer accepts, so a verified archive never fails at install
const packageName = z.string().max(MAX_NAME).regex(PACKAGE_NAME);

export const instanceFactsSchema = z.object({
  id: z.string(),
  name: z.string(),
  imageId: z.string(),
  imageVersion: z.string(),
  imageType: z.enum(['public', 'custom']),
  instanceType: z.string(),
  abi: z.string(),
  sdk: z.number().int(),
  androidVersion: z.string(),
  fingerprint: z.string(),
});

export const appManifestSchema = z.object({
  package: packageName,
  versionCode: z.number().int().nonnegative(),
  versionName: z.string(),
  signerDigest: z.string().nullable(),
  sourceUid: z.number().int(),
  permissions: z.array(z.string().max(MAX_NAME).regex(PERMISSION_NAME)),
  apks: z
    .array(z.object({ name: z.string().max(MAX_NAME).regex(APK_NAME), size: z.number().int().nonnegative() }))
    .min(1),
  parts: z.array(z.enum(DATA_PARTS)),
  /** the package that installed it (installerPackageName), given back to the install session */
  installer: packageName.nullable().default(null),
  /** the app's code is on the system image (an update of it, or the factory copy) */
  system: z.boolean().default(false),
  /** the android:sharedUserId it shares a uid under, if any */
  sharedUser: z.string().max(MAX_NAME).nullable().default(null),
  /** what tar cannot carry and the backup left out: UNIX sockets, which an app recreates when it runs */
  skipped: z
    .array(z.object({ part: z.enum(DATA_PARTS), path: z.string().max(4096), type: z.literal('socket') }))
    .default([]),
});

export const manifestSchema = z
  .object({
    format: z.literal('cloudphone-backup'),
    version: z.literal(1),
    created: z.string(),
    backupFileId: z.string(),
    instance: instanceFactsSchema,
    apps: z.array(appManifestSchema),
    /** BackupFile's paths, archived under paths/<index>/ in this order (path-manifest.ts) */
    paths: z.array(pathManifestSchema).max(MAX_PATHS).default([]),
    /** a whole-instance backup's settings (BackupAndroidInstance; src/backup/instance-settings.ts) */
    settings: instanceSettingsSchema.optional(),
    /** what the request named but the backup could not hold, and why (the file is PART_BACKUP_FINISHED) */
    failed: z
      .array(failedItemSchema)
      .max(2 * MAX_PATHS)
      .default([]),
  })
  .refine((m) => m.apps.length + m.paths.length > 0, 'the archive holds no app and no path');

export type InstanceFacts = z.infer<typeof instanceFactsSchema>;
export type AppManifest = z.infer<typeof appManifestSchema>;
export type Manifest = z.infer<typeof manifestSchema>;
export type { FailedItem, PathManifest } from './path-manifest.ts';

/** The sidecar `<object>.json`, written only after the archive object is completely stored. */
export const sidecarSchema = z.object({
  manifest: manifestSchema,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** bytes of file data inside the archive, for progress totals */
  dataBytes: z.number().int().nonnegative(),
});
export type Sidecar = z.infer<typeof sidecarSchema>;

/** One `sha256sum`-compatible line, escaping names as GNU coreutils does. */
export function sumsLine(hex: string, path: string): string {
  if (!/[\\\n\r]/.test(path)) return `${hex}  ${path}\n`;
  const escaped = path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `\\${hex}  ${escaped}\n`;
}
