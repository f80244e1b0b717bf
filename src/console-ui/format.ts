// How the console writes sizes, rates and durations.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export const rate = (bytesPerSecond: number) => `${bytes(Math.round(bytesPerSecond))}/s`;

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** the API's times are UTC ('2026-11-01T10:00:00Z' or 'yyyy-MM-dd HH:mm:ss'); shown as they are, without the T and Z */
export const time = (t: string) => t.replace('T', ' ').replace(/Z$/, '');

export const percent = (done: number, total: number) =>
  total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
