import type { DisplayState } from '../display.ts';
import type { Command, CommandIo } from './command.ts';

// cmd window (and `wm`, which is `cmd window "$@"`: frameworks/base cmds/wm/wm.sh) size and
// density, after WindowManagerShellCommand (frameworks/base services/core/java/com/android/
// server/wm/WindowManagerShellCommand.java, the same on 10-14 for these two):
// - `size` / `density` print "Physical size: WxH" / "Physical density: N", then an
//   "Override …" line only when the forced value differs (printInitialDisplaySize/Density);
// - `size WxH` (px, or dp scaled by the density) / `density N` (>= 72) force, `reset` clears; a
//   negative dimension clears too (`if (w >= 0 && h >= 0) set… else clear…`);
// - `-d ID` names the display; one the window manager does not know reads 0x0 and density -1
//   (getInitialDisplaySize leaves the Point untouched, getInitialDisplayDensity returns -1) and
//   takes no override;
// - refusals go to stderr with `return -1` (exit 255); an unknown verb prints "Unknown command: X"
//   on stdout (ShellCommand.handleDefaultCommands).
// Only what the service reads is emulated: other verbs (overscan, scaling, tracing …) are unknown here.

const DENSITY_DEFAULT = 160;
const FAILED = 255;

export function window(display: DisplayState): Command {
  return async (io) => {
    const [verb, ...args] = io.args;
    if (verb === 'size') return size(display, io, args);
    if (verb === 'density') return density(display, io, args);
    if (verb === undefined || verb === 'help' || verb === '-h') {
      io.out(HELP);
      return FAILED;
    }
    io.out(`Unknown command: ${verb}\n`);
    return FAILED;
  };
}

function size(display: DisplayState, io: CommandIo, args: string[]): number {
  const [value, ...rest] = args;
  const id = displayId(io, value === '-d' ? args : rest);
  const known = id === 0;
  if (value === undefined || value === '-d') {
    const physical = known ? display.physical : { width: 0, height: 0 };
    const base = known ? display.base() : physical;
    io.out(`Physical size: ${physical.width}x${physical.height}\n`);
    if (base.width !== physical.width || base.height !== physical.height)
      io.out(`Override size: ${base.width}x${base.height}\n`);
    return 0;
  }
  let w = -1;
  let h = -1;
  if (value !== 'reset') {
    const div = value.indexOf('x');
    if (div <= 0 || div >= value.length - 1) {
      io.err(`Error: bad size ${value}\n`);
      return FAILED;
    }
    try {
      w = dimension(value.slice(0, div), display.base().dpi);
      h = dimension(value.slice(div + 1), display.base().dpi);
    } catch (err) {
      if (!(err instanceof NumberFormat)) throw err;
      io.err(`Error: bad number ${err.message}\n`);
      return FAILED;
    }
  }
  if (!known) return 0;
  if (w >= 0 && h >= 0) display.forceSize(w, h);
  else display.clearSize();
  return 0;
}

function density(display: DisplayState, io: CommandIo, args: string[]): number {
  const [value, ...rest] = args;
  const id = displayId(io, value === '-d' ? args : rest);
  const known = id === 0;
  if (value === undefined || value === '-d') {
    const physical = known ? display.physical.dpi : -1;
    const base = known ? display.base().dpi : -1;
    io.out(`Physical density: ${physical}\n`);
    if (base !== physical) io.out(`Override density: ${base}\n`);
    return 0;
  }
  let dpi = -1;
  if (value !== 'reset') {
    try {
      dpi = parseInt32(value);
    } catch (err) {
      if (!(err instanceof NumberFormat)) throw err;
      io.err(`Error: bad number ${err.message}\n`);
      return FAILED;
    }
    if (dpi < 72) {
      io.err('Error: density must be >= 72\n');
      return FAILED;
    }
  }
  if (!known) return 0;
  if (dpi > 0) display.forceDensity(dpi);
  else display.clearDensity();
  return 0;
}

/** getDisplayId: `-d N` among what follows the value; a bad N is reported and display 0 used */
function displayId(io: CommandIo, after: string[]): number {
  if (after[0] !== '-d') return 0;
  const arg = after[1];
  if (arg === undefined) {
    io.err('Error: java.lang.IllegalArgumentException: Argument expected after "-d"\n');
    return 0;
  }
  try {
    return parseInt32(arg);
  } catch (err) {
    if (!(err instanceof NumberFormat)) throw err;
    io.err(`Error: bad number ${err.message}\n`);
    return 0;
  }
}

/** parseDimension: "px" as is, "dp" times the current density / 160, else a plain int */
function dimension(s: string, baseDpi: number): number {
  if (s.endsWith('px')) return parseInt32(s.slice(0, -2));
  if (s.endsWith('dp')) return Math.trunc((parseInt32(s.slice(0, -2)) * baseDpi) / DENSITY_DEFAULT);
  return parseInt32(s);
}

class NumberFormat extends Error {}

/** Integer.parseInt: an optional sign and decimal digits within int32, else NumberFormatException */
function parseInt32(s: string): number {
  const n = /^[+-]?\d+$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isInteger(n) || n < -(2 ** 31) || n > 2 ** 31 - 1)
    throw new NumberFormat(`java.lang.NumberFormatException: For input string: "${s}"`);
  return n;
}

const HELP = `Window manager (window) commands:
  help
      Print this help text.
  size [reset|WxH|WdpxHdp] [-d DISPLAY_ID]
    Return or override display size.
    width and height in pixels unless suffixed with 'dp'.
  density [reset|DENSITY] [-d DISPLAY_ID]
    Return or override display density.
`;
