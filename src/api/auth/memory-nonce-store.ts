import { ERRORS } from '../../errors.ts';
import type { NonceStore } from './ports.ts';

/**
 * In-process nonce memory: entries live until they expire, and the map never holds more than
 * `maxEntries`. When full of live nonces it refuses new requests rather than forgetting a nonce
 * early, which would reopen the replay window.
 */
export class MemoryNonceStore implements NonceStore {
  readonly #expiries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  #lastFullSweep = Number.NEGATIVE_INFINITY;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 1_000_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#expiries.size;
  }

  async remember(nonce: string, expiresAt: Date): Promise<boolean> {
    const now = this.#now();
    const known = this.#expiries.get(nonce);
    if (known !== undefined && known > now) return false;
    this.#sweepOldest(now);
    // A full pass is O(n): at most once a second, so a flood at capacity cannot burn the CPU.
    if (this.#expiries.size >= this.#maxEntries && now - this.#lastFullSweep >= 1000) this.#sweepAll(now);
    if (this.#expiries.size >= this.#maxEntries)
      throw ERRORS.serviceUnavailable('too many signed requests within the replay window');
    // Re-insert so the map stays roughly in expiry order, which keeps #sweepOldest cheap.
    this.#expiries.delete(nonce);
    this.#expiries.set(nonce, expiresAt.getTime());
    return true;
  }

  /** Drops expired entries from the front of the map (the oldest insertions); amortized O(1). */
  #sweepOldest(now: number): void {
    for (const [nonce, expiry] of this.#expiries) {
      if (expiry > now) return;
      this.#expiries.delete(nonce);
    }
  }

  #sweepAll(now: number): void {
    this.#lastFullSweep = now;
    for (const [nonce, expiry] of this.#expiries) {
      if (expiry <= now) this.#expiries.delete(nonce);
    }
  }
}
