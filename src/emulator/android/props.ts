import { promises as fsp } from 'node:fs';
import { type AndroidProfile, type AndroidRelease, DEFAULT_RELEASE, parseRelease, profileFor } from './profile.ts';

// System properties, kept in /system/build.prop like a real image. Written with defaults on the
// first start and only read afterwards, so an operator (or a test) can edit the file to emulate
// another build; the ABI defaults to the host's, since the phone runs host binaries. The build
// says which Android release the folder is: it was set up as that one and stays that one (its
// /data has that release's layout), so starting it as another release is refused.

const ABI: Record<string, string> = { x64: 'x86_64', arm64: 'arm64-v8a', arm: 'armeabi-v7a', ia32: 'x86' };

export function defaultProps(profile: AndroidProfile = profileFor(DEFAULT_RELEASE)): Record<string, string> {
  const abi = ABI[process.arch] ?? process.arch;
  const product = `cloudphone_${abi.replace(/-.*/, '')}`;
  const { id, securityPatch } = profile.build;
  const release = String(profile.release);
  return {
    'ro.build.id': id,
    'ro.build.display.id': `${product}-userdebug ${release} ${id} eng.root test-keys`,
    'ro.build.version.release': release,
    'ro.build.version.sdk': String(profile.sdk),
    'ro.build.version.security_patch': securityPatch,
    'ro.build.type': 'userdebug',
    'ro.build.tags': 'test-keys',
    'ro.build.fingerprint': `cloudphone/${product}/${product}:${release}/${id}/eng.root.${securityPatch.replace(/-/g, '')}:userdebug/test-keys`,
    'ro.product.brand': 'cloudphone',
    'ro.product.manufacturer': 'cloudphone',
    'ro.product.model': 'Cloud Phone',
    'ro.product.name': product,
    'ro.product.device': product,
    'ro.product.cpu.abi': abi,
    'ro.product.cpu.abilist': abi,
    'ro.hardware': 'cloudphone',
    'ro.debuggable': '1',
    'ro.secure': '0',
    'ro.crypto.state': 'unencrypted',
    'persist.sys.timezone': 'UTC',
    'sys.boot_completed': '1',
  };
}

export function parseBuildProp(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([^#=\s][^=]*?)\s*=(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) props[m[1]] = m[2].trim();
  }
  return props;
}

export function formatBuildProp(props: Record<string, string>): string {
  const lines = Object.entries(props).map(([k, v]) => `${k}=${v}`);
  return `# written by cloudphone-backup's emulator on first start; edit to emulate another build\n${lines.join('\n')}\n`;
}

/** the props of /system/build.prop, or null for a folder never set up */
export async function readBuildProp(buildPropHost: string): Promise<Record<string, string> | null> {
  const text = await fsp.readFile(buildPropHost, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  return text === null ? null : parseBuildProp(text);
}

/**
 * the release a phone folder answers as: the one its build.prop names, which `requested` (the
 * --android option) must match; a new folder gets `requested`, else the default release
 */
export function releaseOf(
  props: Record<string, string> | null,
  requested: AndroidRelease | undefined,
  folder: string,
): AndroidRelease {
  if (props === null) return requested ?? DEFAULT_RELEASE;
  const value = props['ro.build.version.release'] ?? '';
  let release: AndroidRelease;
  try {
    release = parseRelease(value);
  } catch {
    throw new Error(
      `the phone folder ${folder} is Android ${JSON.stringify(value)} (ro.build.version.release in /system/build.prop), which the emulator does not emulate`,
    );
  }
  if (requested !== undefined && requested !== release) {
    throw new Error(
      `the phone folder ${folder} was set up as Android ${release} (its /system/build.prop says so) and cannot start as Android ${requested}: use --android ${release}, or another --root for a new Android ${requested} phone`,
    );
  }
  return release;
}

/**
 * what getprop shows while the phone runs: build.prop and what boot sets. UserDataPreparer
 * (frameworks/base services/core/java/com/android/server/pm/UserDataPreparer.java) sets
 * sys.user.0.ce_available=true once user 0's CE storage is prepared, i.e. unlocked; before
 * that the property does not exist (sepolicy property_contexts: `sys.user.0.ce_available
 * … exact bool`). A phone with file-based encryption says so in ro.crypto.state/type.
 */
export function runtimeProps(build: Record<string, string>, fbe: boolean, ceLocked: boolean): Record<string, string> {
  const props = { ...build };
  if (fbe) Object.assign(props, { 'ro.crypto.state': 'encrypted', 'ro.crypto.type': 'file' });
  if (!ceLocked) props['sys.user.0.ce_available'] = 'true';
  return props;
}

/** writes a new folder's /system/build.prop with the release's defaults */
export async function writeDefaultBuildProp(
  buildPropHost: string,
  profile: AndroidProfile,
): Promise<Record<string, string>> {
  const props = defaultProps(profile);
  await fsp.writeFile(buildPropHost, formatBuildProp(props), { mode: 0o644 });
  return props;
}
