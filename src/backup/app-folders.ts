import type { DataPart } from '../devices/device.ts';

// Where an app's data lives for user 0, by the archive part that holds it. The CE folder is
// also reachable as /data/data/<pkg> and external storage through /sdcard; links that apps
// keep into their own folders may use any of these spellings.

export function partFolder(pkg: string, part: DataPart): string {
  switch (part) {
    case 'ce':
      return `/data/user/0/${pkg}`;
    case 'de':
      return `/data/user_de/0/${pkg}`;
    case 'external':
      return `/data/media/0/Android/data/${pkg}`;
    case 'obb':
      return `/data/media/0/Android/obb/${pkg}`;
  }
}

export function appFolders(pkg: string): string[] {
  return [
    partFolder(pkg, 'ce'),
    `/data/data/${pkg}`,
    partFolder(pkg, 'de'),
    partFolder(pkg, 'external'),
    partFolder(pkg, 'obb'),
    ...['/sdcard', '/storage/emulated/0'].flatMap((s) => [`${s}/Android/data/${pkg}`, `${s}/Android/obb/${pkg}`]),
  ];
}
