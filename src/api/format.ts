import { decodeToken } from '../db/paging.ts';

// Alibaba mixes time formats: `yyyy-MM-dd HH:mm:ss` (UTC) for backup files and instances,
// ISO without milliseconds for tasks (notes/eds-aic-api.md §1.10).

export const plainTime = (iso: string): string => iso.slice(0, 19).replace('T', ' ');
export const isoSeconds = (iso: string | null): string => (iso ? `${iso.slice(0, 19)}Z` : '');

export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const RESOURCE_ID = /^[a-z]{1,4}-[a-z0-9]{1,40}$/;

const PLAIN_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * `yyyy-MM-dd HH:mm:ss` as a UTC Date, for time filters; null unless it names a real time.
 * `Date` would roll 2026-02-30 over to March and 24:00:00 to the next day, and turn 2026-13-01
 * into an Invalid Date that throws a RangeError where it is used: each field is checked instead.
 */
export function parsePlainTime(value: string): Date | null {
  const m = PLAIN_TIME.exec(value);
  if (!m) return null;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1).map(Number);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // a day past the month's end rolls into the next month
  return date.getUTCDate() === day ? date : null;
}

/**
 * A NextToken the list calls can use: one a previous page returned. The token is the last row's
 * key; a forged one with a NUL inside would reach PostgreSQL, which cannot compare text holding
 * one (an HTTP 500).
 */
export function nextTokenProblem(token: string): string | null {
  const { created, id } = decodeToken(token);
  return created.includes('\u0000') || id.includes('\u0000') ? 'it is not a token returned by a previous call' : null;
}
