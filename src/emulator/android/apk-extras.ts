import { open } from 'node:fs/promises';
import { parseAxml } from '../../apk/axml.ts';
import { readCentralDirectory, readEntry } from '../../apk/zip.ts';

// Manifest facts the package manager needs and the backup's APK reader does not keep:
// android:sharedUserId on <manifest>, whether an activity answers the HOME intent (what makes a
// package the launcher that PackageManagerService refuses to suspend), and the <application>
// attributes behind dumpsys' flags=[ … ] (hasCode, allowBackup; both default true).

const SHARED_USER_ID = 0x0101000b; // android:sharedUserId (core/res/res/values/public.xml)
const NAME = 0x01010003; // android:name
const HAS_CODE = 0x0101000c; // android:hasCode
const ALLOW_BACKUP = 0x01010280; // android:allowBackup
const HOME = 'android.intent.category.HOME';

export interface ApkExtras {
  sharedUserId: string | null;
  home: boolean;
  hasCode: boolean;
  allowBackup: boolean;
}

export async function readApkExtras(path: string): Promise<ApkExtras> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const cd = await readCentralDirectory(file, size);
    const entry = cd.entries.find((e) => e.name === 'AndroidManifest.xml');
    if (!entry) throw new Error('the APK has no AndroidManifest.xml');
    const elements = parseAxml(await readEntry(file, entry, 4 << 20));
    const shared = elements[0]?.attributes.find((a) => a.resourceId === SHARED_USER_ID)?.value;
    // <manifest>/<application>/<activity|activity-alias>/<intent-filter>/<category>
    const home = elements.some(
      (e) =>
        e.depth === 5 && e.name === 'category' && e.attributes.some((a) => a.resourceId === NAME && a.value === HOME),
    );
    const application = elements.find((e) => e.depth === 2 && e.name === 'application');
    const flag = (id: number) => application?.attributes.find((a) => a.resourceId === id)?.value !== false;
    return {
      sharedUserId: typeof shared === 'string' && shared ? shared : null,
      home,
      hasCode: flag(HAS_CODE),
      allowBackup: flag(ALLOW_BACKUP),
    };
  } finally {
    await file.close();
  }
}
