/**
 * Indexes long runs of rules that each test one exact destination (`-d IP/32 -p P --dport N`) or
 * one exact port (`-p P --dport N`), as kube-proxy's KUBE-SERVICES, KUBE-NODEPORTS and
 * KUBE-EXTERNAL-SERVICES are: a packet jumps straight to the few rules with its key instead of
 * testing thousands (what nftables' verdict maps do). First-match order is kept: rules outside
 * the packet's key cannot match, and the candidates are still tested in rule order with all their
 * matches. Built once per (shared, immutable) Chain object.
 */
import type { Chain, Match, Rule } from './rules.js';

const MIN_SEGMENT = 8;

/** A run of rules [start, end) indexed by key. */
export interface Segment {
  readonly start: number;
  readonly end: number;
  /** 'dst': key = (dst, proto, dport); 'port': key = (proto, dport). */
  readonly kind: 'dst' | 'port';
  /** Key → ascending rule indices. */
  readonly byKey: Map<number, Map<number, number[]>>;
}

/** The index of one chain: for each rule index, the segment it belongs to (or null). */
export interface ChainIndex {
  readonly segmentOf: ReadonlyArray<Segment | null>;
}

const cache = new WeakMap<Chain, ChainIndex | null>();

interface RuleKey {
  kind: 'dst' | 'port';
  dst: number;
  proto: number;
  dport: number;
}

/** The exact key a rule requires, if it has one. */
function keyOf(r: Rule): RuleKey | undefined {
  let dst: number | undefined;
  let proto: number | undefined;
  let dport: number | undefined;
  for (const m of r.matches as readonly Match[]) {
    switch (m.kind) {
      case 'dst':
        if (m.invert || m.cidr.len !== 32) return undefined;
        dst = m.cidr.addr;
        break;
      case 'proto':
        if (m.invert) return undefined;
        proto = m.proto;
        break;
      case 'tcp':
      case 'udp':
      case 'sctp':
        if (m.dport !== undefined) {
          if (m.dport.invert || m.dport.min !== m.dport.max) return undefined;
          dport = m.dport.min;
        }
        break;
      default:
        break;
    }
  }
  if (proto === undefined || dport === undefined) return undefined;
  return dst === undefined ? { kind: 'port', dst: 0, proto, dport } : { kind: 'dst', dst, proto, dport };
}

/** The index of a chain (null when it has no run long enough to be worth one). */
export function chainIndex(chain: Chain): ChainIndex | null {
  const hit = cache.get(chain);
  if (hit !== undefined) return hit;
  const rules = chain.rules;
  const segmentOf: Array<Segment | null> = new Array(rules.length).fill(null);
  let any = false;
  let i = 0;
  while (i < rules.length) {
    const k = keyOf(rules[i]!);
    if (k === undefined) {
      i++;
      continue;
    }
    let j = i + 1;
    const keys: RuleKey[] = [k];
    while (j < rules.length) {
      const kj = keyOf(rules[j]!);
      if (kj === undefined || kj.kind !== k.kind) break;
      keys.push(kj);
      j++;
    }
    if (j - i >= MIN_SEGMENT) {
      const byKey = new Map<number, Map<number, number[]>>();
      keys.forEach((key, n) => {
        const outer = key.kind === 'dst' ? key.dst | 0 : 0;
        let inner = byKey.get(outer);
        if (inner === undefined) byKey.set(outer, (inner = new Map()));
        const ik = (key.proto << 16) | key.dport;
        const list = inner.get(ik);
        if (list === undefined) inner.set(ik, [i + n]);
        else list.push(i + n);
      });
      const seg: Segment = { start: i, end: j, kind: k.kind, byKey };
      for (let x = i; x < j; x++) segmentOf[x] = seg;
      any = true;
    }
    i = j;
  }
  const index = any ? { segmentOf } : null;
  cache.set(chain, index);
  return index;
}

/**
 * The next rule index ≥ `from` inside `seg` that could match a packet with this key, or
 * `seg.end` when none can (the caller continues there).
 */
export function nextCandidate(seg: Segment, from: number, dst: number, proto: number, dport: number): number {
  const list = seg.byKey.get(seg.kind === 'dst' ? dst | 0 : 0)?.get((proto << 16) | dport);
  if (list === undefined) return seg.end;
  // lists are short (one rule per service port, a few at most): a linear scan beats a search
  for (let k = 0; k < list.length; k++) if (list[k]! >= from) return list[k]!;
  return seg.end;
}
