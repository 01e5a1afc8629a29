// SPDX-License-Identifier: Apache-2.0
/**
 * A small seeded PRNG (xorshift32) so that every property and fuzz test is
 * reproducible from its seed, on Node and inside QuickJS alike.
 */

/** xorshift32 (Marsaglia 2003): period 2^32 - 1; a zero seed is replaced. */
export class Prng {
  private s: number;

  /** @param seed any integer; 0 is mapped to a fixed non-zero state */
  constructor(readonly seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }

  /** Next u32. */
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  /** An integer in [0, n) (n ≤ 2^32). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** Fills `buf` with random bytes. */
  fill(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; i++) buf[i] = this.u32() & 0xff;
  }
}
