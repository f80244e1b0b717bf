import { randomInt } from 'node:crypto';

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Alibaba-shaped resource id: `t-`, `bf-` … followed by 17 lowercase base36 characters. */
export const newId = (prefix: 't' | 'bf'): string => `${prefix}-${randomString(BASE36, 17)}`;

export const newAccessKeyId = (): string => `LTAI${randomString(ALNUM, 20)}`;
export const newAccessKeySecret = (): string => randomString(ALNUM, 30);
