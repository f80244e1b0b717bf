import { type AxmlElement, parseAxml } from './axml.ts';

// What the package manager reads from AndroidManifest.xml.

export interface Manifest {
  packageName: string;
  /** null for a base APK, e.g. "config.xxhdpi" for a split */
  split: string | null;
  versionCode: number;
  /** '' when absent, or when it is a resource reference (resources.arsc is not read) */
  versionName: string;
  minSdk: number;
  targetSdk: number;
  /** uses-permission and uses-permission-sdk-23, in manifest order, without duplicates */
  permissions: string[];
  /** android:isSplitRequired: the base refuses to install without its splits */
  isSplitRequired: boolean;
}

// android: attribute resource ids (frameworks/base/core/res/res/values/public.xml)
const ATTR = {
  name: 0x01010003,
  minSdkVersion: 0x0101020c,
  versionCode: 0x0101021b,
  versionName: 0x0101021c,
  targetSdkVersion: 0x01010270,
  versionCodeMajor: 0x01010576,
  isSplitRequired: 0x01010591,
} as const;

type AttrName = keyof typeof ATTR;

function attr(el: AxmlElement, name: AttrName | 'package' | 'split') {
  const id = name in ATTR ? ATTR[name as AttrName] : 0;
  return el.attributes.find((a) => (id ? a.resourceId === id : a.name === name && a.resourceId === 0))?.value;
}

const sdk = (v: unknown, fallback: number) =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : fallback;

export function parseManifest(axml: Buffer): Manifest {
  const elements = parseAxml(axml);
  const manifest = elements[0];
  if (manifest?.name !== 'manifest') throw new Error('AndroidManifest.xml has no <manifest> root');
  const packageName = attr(manifest, 'package');
  if (typeof packageName !== 'string' || !packageName) throw new Error('the manifest names no package');
  const code = attr(manifest, 'versionCode');
  const major = attr(manifest, 'versionCodeMajor');
  const versionCode = (typeof major === 'number' ? major * 2 ** 32 : 0) + (typeof code === 'number' ? code >>> 0 : 0);
  const versionName = attr(manifest, 'versionName');
  const split = attr(manifest, 'split');
  const usesSdk = elements.find((e) => e.depth === 2 && e.name === 'uses-sdk');
  const minSdk = usesSdk ? sdk(attr(usesSdk, 'minSdkVersion'), 1) : 1;
  const permissions = new Set<string>();
  for (const e of elements) {
    if (e.depth !== 2 || (e.name !== 'uses-permission' && e.name !== 'uses-permission-sdk-23')) continue;
    const name = attr(e, 'name');
    if (typeof name === 'string' && name) permissions.add(name);
  }
  return {
    packageName,
    split: typeof split === 'string' && split ? split : null,
    versionCode,
    versionName: typeof versionName === 'string' && !versionName.startsWith('@0x') ? versionName : '',
    minSdk,
    targetSdk: usesSdk ? sdk(attr(usesSdk, 'targetSdkVersion'), minSdk) : minSdk,
    permissions: [...permissions],
    isSplitRequired: attr(manifest, 'isSplitRequired') === true,
  };
}
