import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PhoneRoot } from './root-path.ts';

// The emulated phone's one display (Display.DEFAULT_DISPLAY, id 0). It has no panel: its physical
// size and density are set when the phone starts, as a redroid cloud phone's are by its boot
// arguments androidboot.redroid_width/_height/_dpi, whose defaults (720x1280, 320 dpi) are used
// here (remote-android/redroid-doc README.md, "Configuration"). What `wm size WxH` / `wm density N`
// force is kept across restarts, as WindowManager keeps it in /data/system/display_settings.xml;
// here in a JSON file beside it.

export interface DisplaySpec {
  width: number;
  height: number;
  dpi: number;
}

export const DEFAULT_DISPLAY_SPEC: DisplaySpec = { width: 720, height: 1280, dpi: 320 };

interface Forced {
  width?: number;
  height?: number;
  dpi?: number;
}

const FILE = '/data/system/emulator-display.json';

export class DisplayState {
  constructor(
    private readonly phone: PhoneRoot,
    readonly physical: DisplaySpec,
  ) {}

  /** the size and density apps get: the forced ones, else the physical */
  base(): DisplaySpec {
    const f = this.read();
    return {
      width: f.width ?? this.physical.width,
      height: f.height ?? this.physical.height,
      dpi: f.dpi ?? this.physical.dpi,
    };
  }

  /**
   * WindowManagerService.setForcedDisplaySize bounds what it emulates: at least 200 px, at most
   * twice the physical size each way; forcing the physical size clears the override
   */
  forceSize(width: number, height: number): void {
    const w = Math.min(Math.max(width, 200), this.physical.width * 2);
    const h = Math.min(Math.max(height, 200), this.physical.height * 2);
    const { width: _w, height: _h, ...rest } = this.read();
    const same = w === this.physical.width && h === this.physical.height;
    this.write(same ? rest : { ...rest, width: w, height: h });
  }

  clearSize(): void {
    const { width: _w, height: _h, ...rest } = this.read();
    this.write(rest);
  }

  forceDensity(dpi: number): void {
    this.write({ ...this.read(), dpi });
  }

  clearDensity(): void {
    const { dpi: _d, ...rest } = this.read();
    this.write(rest);
  }

  private read(): Forced {
    try {
      return JSON.parse(readFileSync(this.phone.hostOf(FILE), 'utf8')) as Forced;
    } catch {
      return {};
    }
  }

  private write(forced: Forced): void {
    const path = this.phone.hostOf(FILE);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(forced));
    renameSync(`${path}.tmp`, path);
  }
}
