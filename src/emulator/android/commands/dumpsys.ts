import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ceDir } from '../app-dirs.ts';
import type { PackageRecord } from '../package-db.ts';
import type { PackageService } from '../package-service.ts';
import { isRuntimePermission } from '../permissions.ts';
import type { Command } from './command.ts';

// `dumpsys package [pkg]` in Android 12's layout (the fields tools read: userId, codePath,
// versionCode/minSdk/targetSdk, versionName, dataDir, the permission sections under User 0).

const hash = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 7);

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

export async function dumpPackage(service: PackageService, p: PackageRecord): Promise<string> {
  const ceInode = await fsp
    .stat(await service.phone.resolve(ceDir(p.name)))
    .then((s) => s.ino)
    .catch(() => 0);
  const runtime = p.requestedPermissions.filter(isRuntimePermission);
  const install = p.requestedPermissions.filter((perm) => !isRuntimePermission(perm));
  const flags = '[ HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]';
  const lines = [
    `  Package [${p.name}] (${hash(p.name)}):`,
    `    userId=${p.uid}`,
    `    pkg=Package{${hash(p.codePath)} ${p.name}}`,
    `    codePath=${p.codePath}`,
    `    resourcePath=${p.codePath}`,
    `    legacyNativeLibraryDir=${p.codePath}/lib`,
    '    primaryCpuAbi=null',
    '    secondaryCpuAbi=null',
    `    versionCode=${p.versionCode} minSdk=${p.minSdk} targetSdk=${p.targetSdk}`,
    `    versionName=${p.versionName}`,
    `    splits=[base${p.splits.map((s) => `, ${s}`).join('')}]`,
    `    apkSigningVersion=${p.signatureScheme}`,
    `    applicationInfo=ApplicationInfo{${hash(p.uid + p.name)} ${p.name}}`,
    `    flags=${flags}`,
    `    dataDir=${ceDir(p.name)}`,
    `    timeStamp=${time(p.lastUpdateTime)}`,
    `    firstInstallTime=${time(p.firstInstallTime)}`,
    `    lastUpdateTime=${time(p.lastUpdateTime)}`,
    `    installerPackageName=${p.installer ?? 'null'}`,
    `    signatures=PackageSignatures{${hash(p.signerDigest)} version:${p.signatureScheme}, signatures:[${p.signerDigest.slice(0, 8)}], past signatures:[]}`,
    '    installPermissionsFixed=true',
    `    pkgFlags=${flags}`,
  ];
  if (p.requestedPermissions.length > 0) {
    lines.push('    requested permissions:', ...p.requestedPermissions.map((perm) => `      ${perm}`));
  }
  if (install.length > 0) {
    lines.push('    install permissions:', ...install.map((perm) => `      ${perm}: granted=true`));
  }
  lines.push(
    `    User 0: ceDataInode=${ceInode} installed=${p.installed} hidden=false suspended=${p.suspended} distractionFlags=0 stopped=${p.stopped} notLaunched=${p.stopped} enabled=0 instant=false virtual=false`,
  );
  if (runtime.length > 0) {
    lines.push('      runtime permissions:');
    for (const perm of runtime) {
      const granted = p.grantedPermissions.includes(perm);
      const flagList = granted
        ? 'USER_SET|USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED'
        : 'USER_SENSITIVE_WHEN_GRANTED|USER_SENSITIVE_WHEN_DENIED';
      lines.push(`        ${perm}: granted=${granted}, flags=[ ${flagList}]`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** the Packages: section for one package, or all when `only` is undefined */
export async function packagesSection(service: PackageService, only?: string): Promise<string> {
  const records = service.db.list(true).filter((p) => only === undefined || p.name === only);
  const blocks = await Promise.all(records.map((p) => dumpPackage(service, p)));
  return `Packages:\n${blocks.join('\n')}`;
}

export function dumpsys(service: PackageService): Command {
  return async ({ args, out, err }) => {
    const [name, ...rest] = args;
    if (name === undefined || name === '-l') {
      out('Currently running services:\n  activity\n  package\n');
      return 0;
    }
    if (name !== 'package') {
      err(`Can't find service: ${name}\n`);
      return 0;
    }
    const pkg = rest.find((a) => !a.startsWith('-'));
    if (pkg !== undefined && !service.db.get(pkg)) {
      out(`Unable to find package: ${pkg}\n`);
      return 0;
    }
    out(await packagesSection(service, pkg));
    return 0;
  };
}
