/**
 * A two-band slot allocator, as the apiserver's ClusterIP and NodePort allocators work since
 * KEP-3070 (ServiceIPStaticSubrange) and KEP-3668 (ServiceNodePortStaticSubrange): a lower
 * "static" band is left for requests that name their value, and values are handed out from the
 * upper "dynamic" band first, the lower band only once the upper one is full.
 *
 * podnet picks the starting slot by hashing a key (`namespace/name`, …) instead of at random, and
 * probes linearly past taken slots, so a service keeps its address when other services are added
 * (unless a newcomer's key hashes onto the very same free slot it would have probed to, which
 * for n services in a band of size N happens with probability about n/N).
 */
import { stableHash } from './generated-names.js';

/** Integer slots `first..last` (inclusive), the lowest `staticSize` of them forming the static band. */
export class BandAllocator {
  private readonly owners = new Map<number, string>();
  readonly staticSize: number;

  constructor(
    readonly first: number,
    readonly last: number,
    staticSize: number,
  ) {
    this.staticSize = Math.max(0, Math.min(staticSize, this.size));
  }

  /** Number of slots. */
  get size(): number {
    return Math.max(0, this.last - this.first + 1);
  }

  /** Whether `v` is one of the slots. */
  contains(v: number): boolean {
    return v >= this.first && v <= this.last;
  }

  /** Who took `v`, if anyone. */
  ownerOf(v: number): string | undefined {
    return this.owners.get(v);
  }

  /** Takes `v` for `owner`; when it is already taken, returns its owner and changes nothing. */
  claim(v: number, owner: string): string | undefined {
    const prev = this.owners.get(v);
    if (prev !== undefined) return prev;
    this.owners.set(v, owner);
    return undefined;
  }

  /**
   * A free slot for `key`: the dynamic band from the key's hash upward (wrapping around within
   * the band), then the static band the same way; undefined when every slot is taken.
   */
  allocate(key: string, owner: string): number | undefined {
    const h = stableHash(key);
    const bands: Array<[start: number, size: number]> = [
      [this.first + this.staticSize, this.size - this.staticSize],
      [this.first, this.staticSize],
    ];
    for (const [start, size] of bands) {
      if (size <= 0) continue;
      const base = h % size;
      for (let i = 0; i < size; i++) {
        const v = start + ((base + i) % size);
        if (!this.owners.has(v)) {
          this.owners.set(v, owner);
          return v;
        }
      }
    }
    return undefined;
  }
}
