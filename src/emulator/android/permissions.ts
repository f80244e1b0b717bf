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

/** known to the platform; app-defined permissions (outside android.permission.) are taken as known too */
export const isKnownPermission = (name: string) =>
  RUNTIME_PERMISSIONS.has(name) || INSTALL_PERMISSIONS.has(name) || !name.startsWith(P);
