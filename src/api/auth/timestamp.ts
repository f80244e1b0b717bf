import { ERRORS } from '../../errors.ts';

/** How far a request's Timestamp / x-acs-date may be from the server clock, either way. */
export const SKEW_MS = 15 * 60 * 1000;

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?Z$/;

/** Checks `YYYY-MM-DDThh:mm:ssZ` against the clock; returns when a nonce sent with it may be forgotten. */
export function checkTimestamp(value: string, now: Date): Date {
  const m = ISO_UTC.exec(value);
  if (!m) throw ERRORS.timestampFormat();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, ...number[]];
  const time = Date.UTC(year, (month ?? 1) - 1, day, hour, minute, second);
  // Date.UTC rolls 2025-02-30 over to March; a real timestamp survives the round trip.
  if (new Date(time).toISOString().slice(0, 19) !== value.slice(0, 19)) throw ERRORS.timestampFormat();
  if (Math.abs(time - now.getTime()) > SKEW_MS) throw ERRORS.timestampExpired();
  return new Date(Math.max(time, now.getTime()) + SKEW_MS);
}
