// Alibaba mixes time formats: `yyyy-MM-dd HH:mm:ss` (UTC) for backup files and instances,
// ISO without milliseconds for tasks (notes/eds-aic-api.md §1.10).

export const plainTime = (iso: string): string => iso.slice(0, 19).replace('T', ' ');
export const isoSeconds = (iso: string | null): string => (iso ? `${iso.slice(0, 19)}Z` : '');

/** `yyyy-MM-dd HH:mm:ss` as a UTC Date, for time filters */
export function parsePlainTime(value: string): Date {
  return new Date(`${value.replace(' ', 'T')}Z`);
}

export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const RESOURCE_ID = /^[a-z]{1,4}-[a-z0-9]{1,40}$/;
export const PLAIN_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
