/**
 * A hash map keyed by four numbers (address, port, address, port): a 32-bit hash with
 * collision chains, because building string keys on every packet costs an allocation.
 */
interface Node<V> {
  a: number;
  b: number;
  c: number;
  d: number;
  value: V;
  next: Node<V> | null;
}

function hash4(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ d, 0x165667b1);
  // 30 bits: a small integer (Smi) as a Map key; a wider one is boxed, an allocation per lookup
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/** Map from (a, b, c, d) to V. */
export class QuadMap<V> {
  private buckets = new Map<number, Node<V>>();
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(a: number, b: number, c: number, d: number): V | undefined {
    for (let x: Node<V> | null | undefined = this.buckets.get(hash4(a, b, c, d)); x; x = x.next) {
      if (x.a === a && x.b === b && x.c === c && x.d === d) return x.value;
    }
    return undefined;
  }

  has(a: number, b: number, c: number, d: number): boolean {
    return this.get(a, b, c, d) !== undefined;
  }

  set(a: number, b: number, c: number, d: number, value: V): void {
    const h = hash4(a, b, c, d);
    const head = this.buckets.get(h) ?? null;
    for (let x: Node<V> | null = head; x; x = x.next) {
      if (x.a === a && x.b === b && x.c === c && x.d === d) {
        x.value = value;
        return;
      }
    }
    this.buckets.set(h, { a, b, c, d, value, next: head });
    this.n++;
  }

  delete(a: number, b: number, c: number, d: number): boolean {
    const h = hash4(a, b, c, d);
    let prev: Node<V> | null = null;
    for (let x: Node<V> | null | undefined = this.buckets.get(h); x; prev = x, x = x.next) {
      if (x.a === a && x.b === b && x.c === c && x.d === d) {
        if (prev === null) {
          if (x.next === null) this.buckets.delete(h);
          else this.buckets.set(h, x.next);
        } else prev.next = x.next;
        this.n--;
        return true;
      }
    }
    return false;
  }

  *values(): IterableIterator<V> {
    for (const x of this.buckets.values()) for (let y: Node<V> | null = x; y; y = y.next) yield y.value;
  }
}
