/**
 * The bare event loop the issue compares against: a binary-heap scheduler that only pops events
 * and touches a 98-byte buffer per hop (one event per hop, as podnet schedules one per link).
 */
interface Ev {
  at: number;
  seq: number;
  buf: Uint8Array;
}

/** Runs `hops` hop events through a binary heap; returns hops per second. */
export function bareEventLoop(hops: number): { hopsPerSec: number; checksum: number } {
  const heap: Ev[] = [];
  let seq = 0;
  const push = (e: Ev): void => {
    let i = heap.length;
    heap.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = heap[p]!;
      if (pe.at < e.at || (pe.at === e.at && pe.seq < e.seq)) break;
      heap[i] = pe;
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): Ev | undefined => {
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && (heap[r]!.at < heap[l]!.at || (heap[r]!.at === heap[l]!.at && heap[r]!.seq < heap[l]!.seq))) c = r;
        const ce = heap[c]!;
        if (last.at < ce.at || (last.at === ce.at && last.seq < ce.seq)) break;
        heap[i] = ce;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  // 64 packets in flight, each hopping with a small delay, like flows through devices
  let now = 0;
  for (let i = 0; i < 64; i++) push({ at: i, seq: seq++, buf: new Uint8Array(98) });
  let checksum = 0;
  const t0 = process.hrtime.bigint();
  for (let h = 0; h < hops; h++) {
    const e = pop()!;
    now = e.at;
    // touch the packet: read and write a few header bytes as a hop would
    e.buf[22] = (e.buf[22]! + 1) & 0xff;
    checksum = (checksum + e.buf[22]! + e.buf[30]!) | 0;
    push({ at: now + 2000 + (h & 7), seq: seq++, buf: e.buf });
  }
  const t1 = process.hrtime.bigint();
  return { hopsPerSec: hops / (Number(t1 - t0) / 1e9), checksum };
}
