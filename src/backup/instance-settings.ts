import { z } from 'zod';
import { RESTORABLE_SETTINGS, SETTING_KEY, SETTINGS_NAMESPACES, type SettingsNamespace } from '../android/settings.ts';
import type { Device } from '../devices/device.ts';

// The per-instance settings a whole-instance backup carries and its restore puts back: only the
// user preferences src/android/settings.ts lists, read with `settings list` and written with
// `settings put`. The manifest's copy is untrusted at restore, so its schema accepts exactly the
// keys a restore would write, as strictly as the device layer does.

const value = z
  .string()
  .max(4096)
  .refine((v) => !/[\u0000\n\r]/.test(v), 'a settings value is one line');

const table = (ns: SettingsNamespace) =>
  z
    .record(z.string().regex(SETTING_KEY), value)
    .refine((r) => Object.keys(r).every((k) => RESTORABLE_SETTINGS[ns].includes(k)), `a ${ns} key no restore carries`)
    .default({});

export const instanceSettingsSchema = z.strictObject({
  system: table('system'),
  secure: table('secure'),
  global: table('global'),
});
export type InstanceSettings = z.infer<typeof instanceSettingsSchema>;

/** the restorable settings the phone has set now */
export async function readInstanceSettings(device: Device): Promise<InstanceSettings> {
  const saved = { system: {}, secure: {}, global: {} } as InstanceSettings;
  for (const ns of SETTINGS_NAMESPACES) {
    const current = await device.settings(ns);
    for (const key of RESTORABLE_SETTINGS[ns]) {
      const v = current.get(key);
      if (v !== undefined && value.safeParse(v).success) saved[ns][key] = v;
    }
  }
  return saved;
}

/** puts the saved settings back; returns the keys it changed, as ns/key */
export async function applyInstanceSettings(device: Device, saved: InstanceSettings): Promise<string[]> {
  const changed: string[] = [];
  for (const ns of SETTINGS_NAMESPACES) {
    const current = await device.settings(ns);
    for (const [key, v] of Object.entries(saved[ns])) {
      if (current.get(key) === v) continue;
      await device.putSetting(ns, key, v);
      changed.push(`${ns}/${key}`);
    }
  }
  return changed;
}
