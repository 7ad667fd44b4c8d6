/**
 * Adds the big-endian 16-bit words of `buf[off, off+len)` (which must lie inside `buf`) to `acc`, padding an odd tail
 * with zero; the result is unfolded.
 */
export function sum16(buf: Uint8Array, off: number, len: number, acc = 0): number {
  // Folding is deferred to finishChecksum: a float64 is exact to 2^53, far beyond any packet,
  // so plain addition needs no carry handling. High and low bytes are summed separately (the
  // word sum is hi·256 + lo), which lets the unrolled loop skip the shift/or per word.
  const end = off + len;
  const end8 = off + (len & ~7);
  let hi = 0;
  let lo = 0;
  let i = off;
  for (; i < end8; i += 8) {
    hi += buf[i]! + buf[i + 2]! + buf[i + 4]! + buf[i + 6]!;
    lo += buf[i + 1]! + buf[i + 3]! + buf[i + 5]! + buf[i + 7]!;
  }
  for (; i + 1 < end; i += 2) {
    hi += buf[i]!;
    lo += buf[i + 1]!;
  }
  if (i < end) hi += buf[i]!;
  return acc + hi * 256 + lo;
}

/** Folds carries of an accumulator into 16 bits and complements it, giving the checksum field value. */
export function finishChecksum(acc: number): number {
  let s = acc;
  while (s > 0xffff) {
    // Bitwise ops truncate to 32 bits, so very large accumulators fold arithmetically first.
    s = s > 0x7fff_ffff ? (s % 0x1_0000) + Math.floor(s / 0x1_0000) : (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

/** The internet checksum (RFC 1071) of `buf[off, off+len)`, seeded with an accumulator such as a pseudo-header sum. */
export function checksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return finishChecksum(sum16(buf, off, len, initial));
}

/** Accumulator for the IPv4 pseudo-header (RFC 793/768) to pass as `acc` when summing a TCP/UDP segment. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, l4Length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) + (l4Length & 0xffff);
}

/**
 * Incrementally updates a checksum field after a 16-bit word changed from `oldWord` to `newWord` (RFC 1624, eqn. 3).
 */
export function updateChecksum16(csum: number, oldWord: number, newWord: number): number {
  // Eqn. 3 (HC' = ~(~HC + ~m + m')) rather than eqn. 2 because it matches a full recompute
  // bit for bit: it can never produce 0xffff where recomputation would give 0x0000.
  let s = (~csum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Incrementally updates a checksum field after a 32-bit value (an address) changed; see {@link updateChecksum16}. */
export function updateChecksum32(csum: number, oldValue: number, newValue: number): number {
  let s =
    (~csum & 0xffff) + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) + (newValue >>> 16) + (newValue & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
