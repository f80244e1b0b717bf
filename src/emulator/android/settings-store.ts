import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SettingsNamespace } from '../../android/settings.ts';
import type { PhoneRoot } from './root-path.ts';

// The Settings provider's tables for user 0, kept in one file under the phone's /data/system/users/0
// (a real phone keeps settings_system.xml, settings_secure.xml and settings_global.xml there). A new
// phone starts with the values AOSP's defaults.xml gives these keys, and an identity of its own.

type Tables = Record<SettingsNamespace, Record<string, string>>;

const FILE = '/data/system/users/0/emulator-settings.json';

function defaults(): Tables {
  return {
    system: {
      accelerometer_rotation: '1',
      dtmf_tone: '1',
      font_scale: '1.0',
      haptic_feedback_enabled: '1',
      screen_brightness: '102',
      screen_brightness_mode: '0',
      screen_off_timeout: '60000',
      sound_effects_enabled: '1',
    },
    secure: {
      android_id: randomBytes(8).toString('hex'),
      long_press_timeout: '400',
      multi_press_timeout: '300',
    },
    global: {
      adb_enabled: '1',
      airplane_mode_on: '0',
      animator_duration_scale: '1.0',
      auto_time: '1',
      auto_time_zone: '1',
      device_name: 'Cloud Phone',
      transition_animation_scale: '1.0',
      window_animation_scale: '1.0',
    },
  };
}

export class SettingsStore {
  constructor(private readonly phone: PhoneRoot) {}

  private path(): string {
    return this.phone.hostOf(FILE);
  }

  read(): Tables {
    try {
      return JSON.parse(readFileSync(this.path(), 'utf8')) as Tables;
    } catch {
      const tables = defaults();
      this.write(tables);
      return tables;
    }
  }

  write(tables: Tables): void {
    const path = this.path();
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(tables, null, 2));
    renameSync(`${path}.tmp`, path);
  }

  put(ns: SettingsNamespace, key: string, value: string): void {
    const tables = this.read();
    tables[ns][key] = value;
    this.write(tables);
  }

  delete(ns: SettingsNamespace, key: string): number {
    const tables = this.read();
    if (!(key in tables[ns])) return 0;
    delete tables[ns][key];
    this.write(tables);
    return 1;
  }
}
