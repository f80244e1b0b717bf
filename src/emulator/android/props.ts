import { promises as fsp } from 'node:fs';

// System properties, kept in /system/build.prop like a real image. Written with defaults on the
// first start and only read afterwards, so an operator (or a test) can edit the file to emulate
// another build; the ABI defaults to the host's, since the phone runs host binaries.

const ABI: Record<string, string> = { x64: 'x86_64', arm64: 'arm64-v8a', arm: 'armeabi-v7a', ia32: 'x86' };

export function defaultProps(): Record<string, string> {
  const abi = ABI[process.arch] ?? process.arch;
  const product = `cloudphone_${abi.replace(/-.*/, '')}`;
  const buildId = 'SQ3A.220705.004';
  return {
    'ro.build.id': buildId,
    'ro.build.display.id': `${product}-userdebug 12 ${buildId} eng.root test-keys`,
    'ro.build.version.release': '12',
    'ro.build.version.sdk': '31',
    'ro.build.version.security_patch': '2022-07-05',
    'ro.build.type': 'userdebug',
    'ro.build.tags': 'test-keys',
    'ro.build.fingerprint': `cloudphone/${product}/${product}:12/${buildId}/eng.root.20220705:userdebug/test-keys`,
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

/** the phone's props: /system/build.prop, created with defaults when missing */
export async function loadProps(buildPropHost: string): Promise<Record<string, string>> {
  try {
    return parseBuildProp(await fsp.readFile(buildPropHost, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const props = defaultProps();
    await fsp.writeFile(buildPropHost, formatBuildProp(props), { mode: 0o644 });
    return props;
  }
}
