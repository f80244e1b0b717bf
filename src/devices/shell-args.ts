import { isApkName, isPackageName, isPermissionName, SELINUX_CONTEXT } from '../android/names.ts';
import { SETTING_KEY, SETTINGS_NAMESPACES, type SettingsNamespace } from '../android/settings.ts';
import { ERRORS } from '../errors.ts';

// Every value that reaches a device shell passes through here: validated against a strict
// shape first (so a bad value fails before any I/O), then single-quoted anyway, so the shell
// sees it as one literal word even if a validator were ever too lax.

const MAX_PATH = 4096;

/** The POSIX single-quote form: 'it'\''s' */
export function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function packageName(value: string): string {
  if (!isPackageName(value)) {
    throw ERRORS.invalidParameter('PackageName', `${JSON.stringify(value)} is not a valid Android package name`);
  }
  return value;
}

export function permissionName(value: string): string {
  if (!isPermissionName(value)) {
    throw ERRORS.invalidParameter('Permission', `${JSON.stringify(value)} is not a valid permission name`);
  }
  return value;
}

export function apkName(value: string): string {
  if (!isApkName(value)) {
    throw ERRORS.invalidParameter('ApkName', `${JSON.stringify(value)} is not a plain .apk file name`);
  }
  return value;
}

export function selinuxContext(value: string): string {
  if (typeof value !== 'string' || value.length > 255 || !SELINUX_CONTEXT.test(value)) {
    throw ERRORS.invalidParameter('SecurityContext', `${JSON.stringify(value)} is not a valid SELinux context`);
  }
  return value;
}

/** An absolute device path: no NUL, no control characters, no `.`/`..` segments. */
export function devicePath(value: string): string {
  const bad = (why: string) => ERRORS.invalidParameter('Path', `${JSON.stringify(value)} ${why}`);
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_PATH) throw bad('is not a usable path');
  if (!value.startsWith('/')) throw bad('is not absolute');
  if (/[\u0000-\u001f\u007f]/.test(value)) throw bad('contains control characters');
  const segments = value.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) throw bad('contains "." or ".." segments');
  return value;
}

/** A non-negative integer id (uid, gid, session id, size) that fits a 64-bit device field safely. */
export function numericId(value: number, name = 'Id'): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw ERRORS.invalidParameter(name, `${String(value)} is not a non-negative integer`);
  }
  return value;
}

export function settingsNamespace(value: string): SettingsNamespace {
  if (!(SETTINGS_NAMESPACES as readonly string[]).includes(value)) {
    throw ERRORS.invalidParameter('SettingsNamespace', `${JSON.stringify(value)} is not system, secure or global`);
  }
  return value as SettingsNamespace;
}

export function settingKey(value: string): string {
  if (typeof value !== 'string' || !SETTING_KEY.test(value)) {
    throw ERRORS.invalidParameter('SettingKey', `${JSON.stringify(value)} is not a settings key`);
  }
  return value;
}

/** a settings value: one line (`settings list` prints name=value lines), at most 4 KiB */
export function settingValue(value: string): string {
  if (typeof value !== 'string' || value.length > 4096 || /[\u0000\n\r]/.test(value)) {
    throw ERRORS.invalidParameter('SettingValue', 'a settings value must be one line of at most 4096 characters');
  }
  return value;
}

/** One name inside a folder: not empty, ".", ".." or longer than NAME_MAX, no "/" or control characters. */
export function fileName(value: string): string {
  const ok =
    typeof value === 'string' &&
    value !== '' &&
    value !== '.' &&
    value !== '..' &&
    Buffer.byteLength(value) <= 255 &&
    !/[/\u0000-\u001f\u007f]/.test(value);
  if (!ok) throw ERRORS.invalidParameter('FileName', `${JSON.stringify(value)} is not a plain file name`);
  return value;
}
