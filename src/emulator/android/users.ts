import { AID_APP_START, AID_USER_OFFSET, cacheGid } from '../../android/layout.ts';
import type { AndroidProfile } from './profile.ts';

// The users of the emulated phone: the system user 0 and a work profile 10, as a phone with a
// managed profile has them. uids follow UserHandle.getUid (userId * PER_USER_RANGE + appId) and
// the cache gids installd's multiuser_get_cache_gid (system/core/libcutils/multiuser.cpp).

export const PER_USER_RANGE = AID_USER_OFFSET;
export const FIRST_APPLICATION_UID = AID_APP_START;

export const USER_IDS = [0, 10] as const;
export type UserId = (typeof USER_IDS)[number];

/** UserHandle.USER_ALL and USER_CURRENT, as parseUserArg returns them */
export const USER_ALL = -1;
export const USER_CURRENT = -2;

export interface UserInfo {
  id: UserId;
  name: string;
  flags: number;
}

/** UserInfo{id:name:flags}; user 0 = FULL|SYSTEM|INITIALIZED|ADMIN|PRIMARY (0xc13) */
export function usersOf(profile: AndroidProfile): UserInfo[] {
  return [
    { id: 0, name: 'Owner', flags: 0xc13 },
    { id: 10, name: 'Work profile', flags: profile.packages.workProfileFlags },
  ];
}

export const userExists = (id: number): id is UserId => (USER_IDS as readonly number[]).includes(id);

export const uidOf = (user: number, appId: number) => user * PER_USER_RANGE + appId;
export const appIdOf = (uid: number) => uid % PER_USER_RANGE;
export const userOf = (uid: number) => Math.floor(uid / PER_USER_RANGE);

/** multiuser_get_cache_gid (src/android/layout.ts is its one home) */
export const cacheGidOf = (user: number, appId: number): number => cacheGid(uidOf(user, appId));

/** an IllegalArgumentException of parseUserArg / handleIncomingUser */
export class BadUserArg extends Error {}

/**
 * UserHandle.parseUserArg: "all" → USER_ALL, "current"/"cur" → USER_CURRENT, else an int
 * ("Bad user number: x" otherwise, an IllegalArgumentException)
 */
export function parseUserArg(arg: string): number {
  if (arg === 'all') return USER_ALL;
  if (arg === 'current' || arg === 'cur') return USER_CURRENT;
  if (!/^-?\d+$/.test(arg) || Math.abs(Number(arg)) > 2 ** 31 - 1) {
    throw new BadUserArg(`Bad user number: ${arg}`);
  }
  return Number(arg);
}

/**
 * ActivityManager.handleIncomingUser for a root caller: the current user (0) for USER_CURRENT,
 * USER_ALL only where the command allows it, other negative ids refused; a positive id that does
 * not exist passes through (each service then finds no such user)
 */
export function resolveUser(user: number, allowAll: boolean): number {
  if (user === USER_CURRENT) return 0;
  if (user === USER_ALL && allowAll) return USER_ALL;
  if (user < 0) {
    throw new BadUserArg(`Call does not support special user #${user}`);
  }
  return user;
}
