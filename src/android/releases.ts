// What the client must know of each Android release's userland (the emulator's own copy of these
// facts, for imitating them, is src/emulator/android/profile.ts). Sources: docs/archive-format.md.

/**
 * The largest file the phone's tar can extract. Android 10 ships toybox 0.8.0's old tar.c
 * (LineageOS lineage-17.1 793a3cae "Revert all recent tar changes for Q"), whose otoi() returns an
 * int: a file of 2 GiB or more fails, and one of 4 GiB + n is silently cut to n bytes.
 */
export function maxTarFileSize(sdk: number): number {
  return sdk <= 29 ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER;
}
