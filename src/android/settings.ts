// The Settings provider's namespaces, and which of their keys an instance restore may carry. `settings
// list <ns>` prints `name=value` lines sorted (SettingsService.MyShellCommand.listForUser, AOSP
// frameworks/base packages/SettingsProvider/src/com/android/providers/settings/SettingsService.java).
// Only user preferences are carried: identity (android_id, device_name, bluetooth_name),
// connectivity (wifi_*, airplane_mode_on, adb_enabled) and anything naming a component that may not
// exist on the target (default_input_method, enabled_accessibility_services) never are.

export const SETTINGS_NAMESPACES = ['system', 'secure', 'global'] as const;
export type SettingsNamespace = (typeof SETTINGS_NAMESPACES)[number];

/** the keys of each namespace an instance backup saves and its restore puts back */
export const RESTORABLE_SETTINGS: Record<SettingsNamespace, readonly string[]> = {
  // android.provider.Settings.System
  system: [
    'accelerometer_rotation',
    'dtmf_tone',
    'font_scale',
    'haptic_feedback_enabled',
    'screen_brightness',
    'screen_brightness_mode',
    'screen_off_timeout',
    'sound_effects_enabled',
    'time_12_24',
    'user_rotation',
  ],
  // android.provider.Settings.Secure
  secure: [
    'long_press_timeout',
    'multi_press_timeout',
    'show_ime_with_hard_keyboard',
    'tts_default_pitch',
    'tts_default_rate',
  ],
  // android.provider.Settings.Global
  global: [
    'animator_duration_scale',
    'auto_time',
    'auto_time_zone',
    'stay_on_while_plugged_in',
    'transition_animation_scale',
    'window_animation_scale',
  ],
};

/** a settings key as the provider stores them (and as it may reach a shell) */
export const SETTING_KEY = /^[a-z][a-z0-9_.]{0,127}$/;
