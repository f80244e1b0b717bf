// Android's platform permissions as the package manager classifies them
// (frameworks/base/core/res/AndroidManifest.xml): runtime ("dangerous") ones are granted and
// revoked per user; the others are install-time and not changeable with `pm grant`.

const P = 'android.permission.';

export const RUNTIME_PERMISSIONS = new Set(
  [
    'READ_CALENDAR',
    'WRITE_CALENDAR',
    'CAMERA',
    'READ_CONTACTS',
    'WRITE_CONTACTS',
    'GET_ACCOUNTS',
    'ACCESS_FINE_LOCATION',
    'ACCESS_COARSE_LOCATION',
    'ACCESS_BACKGROUND_LOCATION',
    'ACCESS_MEDIA_LOCATION',
    'RECORD_AUDIO',
    'READ_PHONE_STATE',
    'READ_PHONE_NUMBERS',
    'CALL_PHONE',
    'ANSWER_PHONE_CALLS',
    'READ_CALL_LOG',
    'WRITE_CALL_LOG',
    'ADD_VOICEMAIL',
    'USE_SIP',
    'PROCESS_OUTGOING_CALLS',
    'BODY_SENSORS',
    'ACTIVITY_RECOGNITION',
    'SEND_SMS',
    'RECEIVE_SMS',
    'READ_SMS',
    'RECEIVE_WAP_PUSH',
    'RECEIVE_MMS',
    'READ_EXTERNAL_STORAGE',
    'WRITE_EXTERNAL_STORAGE',
    'BLUETOOTH_SCAN',
    'BLUETOOTH_CONNECT',
    'BLUETOOTH_ADVERTISE',
    'UWB_RANGING',
  ].map((p) => P + p),
);

const INSTALL_PERMISSIONS = new Set(
  [
    'INTERNET',
    'ACCESS_NETWORK_STATE',
    'ACCESS_WIFI_STATE',
    'CHANGE_NETWORK_STATE',
    'CHANGE_WIFI_STATE',
    'WAKE_LOCK',
    'VIBRATE',
    'RECEIVE_BOOT_COMPLETED',
    'FOREGROUND_SERVICE',
    'NFC',
    'BLUETOOTH',
    'BLUETOOTH_ADMIN',
    'SET_WALLPAPER',
    'REQUEST_INSTALL_PACKAGES',
    'SYSTEM_ALERT_WINDOW',
    'WRITE_SETTINGS',
    'QUERY_ALL_PACKAGES',
    'USE_BIOMETRIC',
    'USE_FINGERPRINT',
    'SCHEDULE_EXACT_ALARM',
    'MANAGE_EXTERNAL_STORAGE',
  ].map((p) => P + p),
);

export const isRuntimePermission = (name: string) => RUNTIME_PERMISSIONS.has(name);

/** PackageManager.FLAG_PERMISSION_* (core/java/android/content/pm/PackageManager.java) */
export const FLAG = {
  USER_SET: 1 << 0,
  USER_FIXED: 1 << 1,
  POLICY_FIXED: 1 << 2,
  REVOKED_COMPAT: 1 << 3,
  SYSTEM_FIXED: 1 << 4,
  GRANTED_BY_DEFAULT: 1 << 5,
  REVIEW_REQUIRED: 1 << 6,
  REVOKE_WHEN_REQUESTED: 1 << 7,
  USER_SENSITIVE_WHEN_GRANTED: 1 << 8,
  USER_SENSITIVE_WHEN_DENIED: 1 << 9,
  RESTRICTION_INSTALLER_EXEMPT: 1 << 11,
  RESTRICTION_SYSTEM_EXEMPT: 1 << 12,
  RESTRICTION_UPGRADE_EXEMPT: 1 << 13,
  APPLY_RESTRICTION: 1 << 14,
  GRANTED_BY_ROLE: 1 << 15,
  ONE_TIME: 1 << 16,
  AUTO_REVOKED: 1 << 17,
} as const;

export type PermissionFlagName = keyof typeof FLAG;

/** what the permission controller sets on every runtime permission of a new install (10+) */
export const NEW_RUNTIME_FLAGS = FLAG.USER_SENSITIVE_WHEN_GRANTED | FLAG.USER_SENSITIVE_WHEN_DENIED;

/** PackageManager.permissionFlagToString; the number for an unnamed bit */
export function permissionFlagName(bit: number): string {
  const found = Object.entries(FLAG).find(([, value]) => value === bit);
  return found ? found[0] : String(bit);
}

export function parseFlags(names: string[]): number {
  let flags = 0;
  for (const name of names) {
    const bit = FLAG[name as PermissionFlagName];
    if (bit === undefined) throw new Error(`unknown permission flag ${name}`);
    flags |= bit;
  }
  return flags;
}

/** permission → gid (frameworks/base/data/etc/platform.xml), for the dump's gids=[…] */
const PERMISSION_GIDS: Record<string, number> = {
  'android.permission.BLUETOOTH_ADMIN': 3001,
  'android.permission.BLUETOOTH': 3002,
  'android.permission.INTERNET': 3003,
};

export const gidsOf = (granted: string[]) =>
  [...new Set(granted.flatMap((p) => (PERMISSION_GIDS[p] === undefined ? [] : [PERMISSION_GIDS[p] as number])))].sort(
    (a, b) => a - b,
  );

/** known to the platform; app-defined permissions (outside android.permission.) are taken as known too */
export const isKnownPermission = (name: string) =>
  RUNTIME_PERMISSIONS.has(name) || INSTALL_PERMISSIONS.has(name) || !name.startsWith(P);
