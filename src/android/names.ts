// The shapes of Android names, shared by the device layer (before a value reaches a shell) and the
// archive manifest (untrusted input at restore), so what one accepts the other accepts too.

/** PackageParser's rule: two or more dot-separated segments, each a Java-identifier-like word */
export const PACKAGE_NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/;
/** permission names are package-style names too (android.permission.CAMERA, com.example.perm.X) */
export const PERMISSION_NAME = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/;
/** base.apk, split_config.arm64_v8a.apk, or a system app's own name (Notes.apk): a plain file name */
export const APK_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\.apk$/;
/** u:object_r:app_data_file:s0:c512,c768 */
export const SELINUX_CONTEXT = /^[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*:s\d+(-s\d+)?(:c\d+([.,]c\d+)*)?$/;
export const MAX_NAME = 255;

export const isPackageName = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= MAX_NAME && PACKAGE_NAME.test(v);
export const isPermissionName = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= MAX_NAME && PERMISSION_NAME.test(v);
export const isApkName = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_NAME && APK_NAME.test(v);
