/**
 * Seeded pseudo-random generator (xoshiro128**: four u32 words of state, 32-bit ops only).
 * Every random decision in podnet draws from an Rng passed down explicitly, so the same
 * topology and seed give the same packets.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Creates a generator from a 32-bit seed and a stream label (different labels give independent streams). */
  constructor(seed: number, stream = 'podnet') {
    let s = (seed ^ hashString(stream)) >>> 0;
    s = splitmix32(s);
    this.a = s;
    s = splitmix32(s);
    this.b = s;
    s = splitmix32(s);
    this.c = s;
    s = splitmix32(s);
    this.d = s | 1;
  }

  /** An independent copy with the same state (draws from one do not affect the other). */
  clone(): Rng {
    const c = new Rng(0, 'fork');
    c.a = this.a;
    c.b = this.b;
    c.c = this.c;
    c.d = this.d;
    return c;
  }

  /** A new generator derived from this one's current state and a label; does not advance this one. */
  fork(label: string): Rng {
    const child = new Rng(0, 'fork');
    const h = hashString(label);
    child.a = splitmix32(this.a ^ h);
    child.b = splitmix32(this.b ^ child.a);
    child.c = splitmix32(this.c ^ child.b);
    child.d = splitmix32(this.d ^ child.c) | 1;
    return child;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, n) without modulo bias (n ≤ 2^32). */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= 0x1_0000_0000)) throw new RangeError(`Rng.nextInt: bound ${n} out of range`);
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** Uniform integer in [lo, hi], inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.nextInt(hi - lo + 1);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units (stable, for seeding and labels). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
