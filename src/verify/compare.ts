/**
 * Packet-by-packet comparison of one capture point: the kernel's frames against podnet's.
 *
 * Alignment ("align by flow direction, then check the interleaving"):
 * 1. Frames are grouped by connection and direction (records.ts: ARP pair, ICMP pair, TCP/UDP
 *    endpoints with ephemeral ports normalised and connections numbered in order of appearance,
 *    VXLAN by its inner connection; ICMP errors join the flow they quote). One direction of one
 *    connection is one sender's sequence: its order is strict.
 * 2. Within a group, frames are paired in order by a longest common subsequence of their fine
 *    signatures; frames left over between two pairs are paired in order when their coarse
 *    signatures (flow, direction, protocol) agree — so a TTL bug shows as a field mismatch, not
 *    as a missing and an extra frame. What is still left is missing (kernel only) or extra
 *    (podnet only).
 * 3. Order across groups: two frames of different flows may appear in the opposite order in
 *    podnet only when both sides saw them within CONCURRENCY_WINDOW of each other (independent,
 *    concurrent events, e.g. two replies); two frames of the two directions of one connection
 *    (before and after NAT alike) within CROSSING_WINDOW (they cross in flight, e.g. a server's
 *    FIN and the client's ACK of its data: an order set by how fast the server application
 *    closes); two frames of different connections of one flow (or of one Service probe, before
 *    and after NAT) within ATTEMPTS_WINDOW (independent attempts on a fixed schedule: one
 *    connection's last segments and the next one's SYN); in a parallel Scenario,
 *    two frames of different probes within PARALLEL_WINDOW (the kernel starts each probe's
 *    process separately); a delayed ARP probe exchange against other flows' frames (a timer
 *    placed it: its time since first use is compared instead, rule 5). Such swaps are listed
 *    as tolerated, never hidden. Any other inversion is an `order` mismatch.
 * 4. Paired frames are compared field by field (rules in records.ts).
 * 5. Timing is compared only where the behaviour is timing: a unicast ARP request (NUD probe)
 *    must come DELAY_PROBE_WINDOW after the first use of the entry, on both sides.
 */
import type { ConnLabeller, FrameInput, FrameRecord, DecodeContext, Value } from './records.js';
import { decodeFrames } from './records.js';
import type { Nanos } from '../sim/time.js';

/** Frames of different flows within this much of each other (on both sides) may swap places. */
export const CONCURRENCY_WINDOW: Nanos = 2_000_000;
/**
 * Frames of the two directions of one connection (with the same contents on both sides) may swap
 * places within this much: they cross in flight, and which one a capture point sees first
 * depends on how fast each endpoint's application acts (a Node server's close() reaches the
 * wire some 0.1–5 ms after its write(); podnet's servers close at once).
 */
export const CROSSING_WINDOW: Nanos = 25_000_000;
/**
 * Frames of different connections of one flow (a probe's attempts, which start on a fixed
 * schedule and do not depend on each other) may swap places within this much: how their
 * segments interleave is the applications' timing, and the kernel's node servers and clients
 * share two CPUs with 19 captures (stalls of tens of ms happen).
 */
export const ATTEMPTS_WINDOW: Nanos = 100_000_000;
/**
 * In a parallel Scenario, frames of different probes may swap places within this much: the
 * kernel starts each probe's process on its own, some milliseconds apart, where podnet starts
 * them at the same virtual instant. 20 ms was once too little: a full CI run saw the external
 * host's UDP client start 20.6 ms after the pings (the same stalls as ATTEMPTS_WINDOW's).
 */
export const PARALLEL_WINDOW: Nanos = 50_000_000;
/** A delayed ARP probe comes this long after the first use of a STALE entry (delay_first_probe_time 5 s). */
export const DELAY_PROBE_WINDOW: readonly [Nanos, Nanos] = [4_900_000_000, 5_500_000_000];

/** Kinds of difference. */
export type MismatchKind =
  | 'field'
  | 'missing'
  | 'extra'
  | 'order'
  | 'timing'
  | 'range'
  | 'capture'
  | 'probe'
  | 'topology'
  | 'choice'
  | 'distribution'
  | 'state';

/** One difference between the kernel and podnet. */
export interface Mismatch {
  readonly kind: MismatchKind;
  /** Capture point (`node1/cni0`), `probe <name>` or `topology <ns>`. */
  readonly point: string;
  /** 0-based frame indexes at the capture point (printed 1-based). */
  readonly kernelIndex?: number;
  readonly podnetIndex?: number;
  readonly field?: string;
  readonly kernel: string;
  readonly podnet: string;
  /** The frame in question, tcpdump-like (kernel's when podnet has none). */
  readonly summary?: string;
  /** podnet's frame (for its pcapng comment and packet id). */
  readonly podnetFrame?: FrameRecord;
  readonly note?: string;
  /** Service flows: the backend choices podnet was forced to replay for this packet's connection. */
  readonly forced?: string;
  /** Service flows: the probe attempt this mismatch belongs to. */
  readonly service?: ServiceMark;
  /** The kernel's frame (for frames podnet lacks). */
  readonly kernelFrame?: FrameRecord;
}

/** Which Service connection a mismatch belongs to. */
export interface ServiceMark {
  readonly probe: string;
  /** 0-based. */
  readonly attempt: number;
  /** podnet's client picked an ephemeral port it had already used towards the same Service address. */
  readonly podnetPortReused: boolean;
  /** The attempt's SYN retransmissions differ: how many were sent before it ended, or their spacing. */
  readonly synRetransmitsDiffer?: boolean;
}

/** A tolerated swap of concurrent frames. */
export interface ToleratedSwap {
  readonly point: string;
  /**
   * concurrent: different flows; crossing: the two directions of one connection; attempts: two connections of one flow
   * (or of one Service probe); parallel: different probes of a parallel scenario; timer: a delayed ARP probe exchange.
   */
  readonly why: 'concurrent' | 'crossing' | 'attempts' | 'parallel' | 'timer';
  readonly kernel: readonly [number, number];
  readonly podnet: readonly [number, number];
  readonly summaries: readonly [string, string];
  readonly gapKernel: Nanos;
  readonly gapPodnet: Nanos;
}

/** The comparison of one capture point. */
export interface PointComparison {
  readonly point: string;
  readonly kernel: readonly FrameRecord[];
  readonly podnet: readonly FrameRecord[];
  readonly pairs: ReadonlyArray<readonly [FrameRecord, FrameRecord]>;
  readonly mismatches: Mismatch[];
  readonly tolerated: ToleratedSwap[];
}

function fmt(v: Value | undefined): string {
  if (v === undefined) return '(absent)';
  return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v);
}

function msStr(ns: number): string {
  return `${(ns / 1e6).toFixed(3)} ms`;
}

/** LCS of two signature lists; returns index pairs in order. */
function lcs(a: readonly string[], b: readonly string[]): Array<[number, number]> {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return [];
  if (n * m > 4_000_000) {
    // too big for the table: pair greedily in order
    const out: Array<[number, number]> = [];
    let j = 0;
    for (let i = 0; i < n && j < m; i++) {
      const k = b.indexOf(a[i]!, j);
      if (k >= 0) {
        out.push([i, k]);
        j = k + 1;
      }
    }
    return out;
  }
  const w = m + 1;
  const dp = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i * w + j] = a[i] === b[j] ? dp[(i + 1) * w + j + 1]! + 1 : Math.max(dp[(i + 1) * w + j]!, dp[i * w + j + 1]!);
    }
  }
  const out: Array<[number, number]> = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push([i, j]);
      i++;
      j++;
    } else if (dp[(i + 1) * w + j]! >= dp[i * w + j + 1]!) i++;
    else j++;
  }
  return out;
}

/** Pairs the frames of one flow (see the module comment). */
function alignFlow(
  k: readonly FrameRecord[],
  p: readonly FrameRecord[],
): { pairs: Array<[FrameRecord, FrameRecord]>; missing: FrameRecord[]; extra: FrameRecord[] } {
  const anchors = lcs(
    k.map((r) => r.sig),
    p.map((r) => r.sig),
  );
  const pairs: Array<[FrameRecord, FrameRecord]> = [];
  const missing: FrameRecord[] = [];
  const extra: FrameRecord[] = [];
  let ki = 0;
  let pi = 0;
  const gap = (kEnd: number, pEnd: number): void => {
    const ks = k.slice(ki, kEnd);
    const ps = p.slice(pi, pEnd);
    const usedP = new Set<number>();
    let from = 0;
    for (const kr of ks) {
      let found = -1;
      for (let j = from; j < ps.length; j++) {
        if (!usedP.has(j) && ps[j]!.coarse === kr.coarse) {
          found = j;
          break;
        }
      }
      if (found >= 0) {
        usedP.add(found);
        pairs.push([kr, ps[found]!]);
        from = found + 1;
      } else missing.push(kr);
    }
    ps.forEach((r, j) => {
      if (!usedP.has(j)) extra.push(r);
    });
  };
  for (const [a, b] of anchors) {
    gap(a, b);
    pairs.push([k[a]!, p[b]!]);
    ki = a + 1;
    pi = b + 1;
  }
  gap(k.length, p.length);
  return { pairs, missing, extra };
}

function groupKey(r: FrameRecord): string {
  return `${r.conn}\u0000${r.dirKey}`;
}

function groupByFlow(rs: readonly FrameRecord[]): Map<string, FrameRecord[]> {
  const m = new Map<string, FrameRecord[]>();
  for (const r of rs) {
    const key = groupKey(r);
    let l = m.get(key);
    if (l === undefined) m.set(key, (l = []));
    l.push(r);
  }
  return m;
}

/** Delay between the first use of a neighbour entry and a unicast ARP probe for it, if it can be told. */
export function delayedProbeDelay(rs: readonly FrameRecord[], probe: FrameRecord): Nanos | undefined {
  const f = probe.fields;
  if (f.get('arp.op') !== 'request' || f.get('eth.dst') === 'ff:ff:ff:ff:ff:ff') return undefined;
  const src = f.get('eth.src');
  const dst = f.get('eth.dst');
  // the last ARP exchange of this pair before the probe (the entry was learned or confirmed there)
  let start = 0;
  for (let i = probe.index - 1; i >= 0; i--) {
    if (rs[i]!.flow === probe.flow) {
      start = i + 1;
      break;
    }
  }
  for (let i = start; i < probe.index; i++) {
    const r = rs[i]!;
    if (r.fields.get('eth.type') === 0x0800 && r.fields.get('eth.src') === src && r.fields.get('eth.dst') === dst)
      return probe.input.t - r.input.t;
  }
  return undefined;
}

/** Options of a comparison. */
export interface CompareOptions {
  readonly parallel?: boolean;
  /** Names connections on each side (by capture point), e.g. Service connections by probe attempt. */
  readonly labels?: {
    readonly kernel: (point: string) => ConnLabeller | undefined;
    readonly podnet: (point: string) => ConnLabeller | undefined;
  };
}

/**
 * Both frames belong to labelled connections (`@probe/attempt`) of one probe: consecutive attempts, seen before or
 * after NAT.
 */
function sameProbe(a: FrameRecord, b: FrameRecord): boolean {
  if (!a.connId.startsWith('@') || !b.connId.startsWith('@')) return false;
  return a.connId.slice(0, a.connId.indexOf('/')) === b.connId.slice(0, b.connId.indexOf('/'));
}

/** Compares one capture point. */
export function comparePoint(
  point: string,
  kernelFrames: readonly FrameInput[],
  podnetFrames: readonly FrameInput[],
  ctx: DecodeContext,
  opts: CompareOptions = {},
): PointComparison {
  const K = decodeFrames(kernelFrames, ctx, opts.labels?.kernel(point));
  const P = decodeFrames(podnetFrames, ctx, opts.labels?.podnet(point));
  const mismatches: Mismatch[] = [];
  const tolerated: ToleratedSwap[] = [];
  const kFlows = groupByFlow(K);
  const pFlows = groupByFlow(P);
  const pairs: Array<[FrameRecord, FrameRecord]> = [];
  const missing: FrameRecord[] = [];
  const extra: FrameRecord[] = [];
  for (const flow of new Set([...kFlows.keys(), ...pFlows.keys()])) {
    const r = alignFlow(kFlows.get(flow) ?? [], pFlows.get(flow) ?? []);
    pairs.push(...r.pairs);
    missing.push(...r.missing);
    extra.push(...r.extra);
  }
  pairs.sort((a, b) => a[0].index - b[0].index);

  for (const r of missing) {
    mismatches.push({
      kind: 'missing',
      point,
      kernelIndex: r.index,
      kernel: r.summary,
      podnet: '(no such frame)',
      summary: r.summary,
      kernelFrame: r,
      note: `t=${msStr(r.input.t)} in the kernel`,
    });
  }
  for (const r of extra) {
    mismatches.push({
      kind: 'extra',
      point,
      podnetIndex: r.index,
      kernel: '(no such frame)',
      podnet: r.summary,
      summary: r.summary,
      podnetFrame: r,
      note: `t=${msStr(r.input.t)} in podnet`,
    });
  }

  // kernel frames of delayed ARP probe exchanges: unicast requests and the replies to them
  const timerDriven = new Set<number>();
  const lastArpOfFlow = new Map<string, FrameRecord>();
  for (const r of K) {
    if (r.fields.get('eth.type') !== 0x0806) continue;
    const op = r.fields.get('arp.op');
    const unicast = r.fields.get('eth.dst') !== 'ff:ff:ff:ff:ff:ff';
    const prev = lastArpOfFlow.get(r.flow);
    if ((op === 'request' && unicast) || (op === 'reply' && prev !== undefined && timerDriven.has(prev.index)))
      timerDriven.add(r.index);
    lastArpOfFlow.set(r.flow, r);
  }

  // order across flows (each displaced frame reported once)
  const reported = new Set<number>();
  for (let i = 0; i < pairs.length; i++) {
    for (let j = i + 1; j < pairs.length; j++) {
      const [ka, pa] = pairs[i]!;
      const [kb, pb] = pairs[j]!;
      if (pa.index < pb.index || reported.has(kb.index)) continue;
      const gk = Math.abs(kb.input.t - ka.input.t);
      const gp = Math.abs(pa.input.t - pb.input.t);
      const fa = pa.input.flow ?? 0;
      const fb = pb.input.flow ?? 0;
      // the two directions of one connection (across NAT too); two connections of one flow
      // (attempts of a probe: how their segments interleave is application timing)
      const why: ToleratedSwap['why'] =
        ka.connId === kb.connId
          ? 'crossing'
          : ka.flow === kb.flow || sameProbe(ka, kb)
            ? 'attempts'
            : opts.parallel === true && fa !== 0 && fb !== 0 && fa !== fb
              ? 'parallel'
              : 'concurrent';
      const window =
        why === 'crossing'
          ? CROSSING_WINDOW
          : why === 'attempts'
            ? ATTEMPTS_WINDOW
            : why === 'parallel'
              ? PARALLEL_WINDOW
              : CONCURRENCY_WINDOW;
      if (groupKey(ka) !== groupKey(kb) && gk <= window && gp <= window) {
        tolerated.push({
          point,
          why,
          kernel: [ka.index, kb.index],
          podnet: [pa.index, pb.index],
          summaries: [ka.summary, kb.summary],
          gapKernel: gk,
          gapPodnet: gp,
        });
        continue;
      }
      // a delayed ARP probe (and its reply) goes out when a timer fires: where it falls among
      // other flows' frames depends on how closely the kernel kept podnet's schedule, so its
      // time since first use is compared instead (see delayedProbeDelay)
      if (ka.flow !== kb.flow && (timerDriven.has(ka.index) || timerDriven.has(kb.index))) {
        tolerated.push({
          point,
          why: 'timer',
          kernel: [ka.index, kb.index],
          podnet: [pa.index, pb.index],
          summaries: [ka.summary, kb.summary],
          gapKernel: gk,
          gapPodnet: gp,
        });
        continue;
      }
      reported.add(kb.index);
      mismatches.push({
        kind: 'order',
        point,
        kernelIndex: kb.index,
        podnetIndex: pb.index,
        field: 'order',
        kernel: `after #${ka.index + 1} (${ka.summary}), ${msStr(gk)} later`,
        podnet: `before #${pa.index + 1}, ${msStr(gp)} earlier`,
        summary: kb.summary,
        podnetFrame: pb,
      });
    }
  }

  // fields
  for (const [k, p] of pairs) {
    const names = new Set([...k.fields.keys(), ...p.fields.keys()]);
    for (const name of names) {
      const kv = k.fields.get(name);
      const pv = p.fields.get(name);
      if (kv === pv) continue;
      // ID 0 is only compared when both sides set DF (a DF difference is reported on its own)
      if ((kv === undefined || pv === undefined) && name.endsWith('ip.id=0')) continue;
      mismatches.push({
        kind: 'field',
        point,
        kernelIndex: k.index,
        podnetIndex: p.index,
        field: name,
        kernel: fmt(kv),
        podnet: fmt(pv),
        summary: k.summary,
        podnetFrame: p,
      });
    }
    for (const side of [k, p]) {
      for (const r of side.ranges) {
        if (r.value >= r.lo && r.value <= r.hi) continue;
        const isK = side === k;
        mismatches.push({
          kind: 'range',
          point,
          kernelIndex: k.index,
          podnetIndex: p.index,
          field: r.field,
          kernel: isK ? `${r.value} (outside ${r.lo}–${r.hi})` : `in ${r.lo}–${r.hi}`,
          podnet: isK ? `in ${r.lo}–${r.hi}` : `${r.value} (outside ${r.lo}–${r.hi})`,
          summary: k.summary,
          podnetFrame: p,
        });
      }
    }
    for (const [name, ok] of p.podnetOnly) {
      if (!ok)
        mismatches.push({
          kind: 'field',
          point,
          kernelIndex: k.index,
          podnetIndex: p.index,
          field: name,
          kernel: '(not compared: CHECKSUM_PARTIAL in the kernel capture)',
          podnet: 'invalid checksum',
          summary: k.summary,
          podnetFrame: p,
        });
    }
  }

  // random fields: the same equality pattern on both sides
  const kSeen = new Map<string, Map<string, number>>();
  const pSeen = new Map<string, Map<string, number>>();
  const classOf = (seen: Map<string, Map<string, number>>, key: string, v: Value, idx: number): number => {
    let m = seen.get(key);
    if (m === undefined) seen.set(key, (m = new Map()));
    const s = String(v);
    const c = m.get(s);
    if (c !== undefined) return c;
    m.set(s, idx);
    return idx;
  };
  const firstPair = new Map<number, [FrameRecord, FrameRecord]>();
  for (const [i, pr] of pairs.entries()) firstPair.set(i, pr);
  pairs.forEach(([k, p], i) => {
    for (const kp of k.patterns) {
      const pp = p.patterns.find((x) => x.field === kp.field && x.scope === kp.scope);
      if (pp === undefined) continue;
      const key = `${kp.field}\u0000${kp.scope}`;
      const kc = classOf(kSeen, key, kp.value, i);
      const pc = classOf(pSeen, key, pp.value, i);
      if (kc === pc) continue;
      const describe = (c: number): string =>
        c === i
          ? 'a value not seen before in this flow'
          : `the same value as #${firstPair.get(c)![0].index + 1} (kernel) / #${firstPair.get(c)![1].index + 1} (podnet)`;
      mismatches.push({
        kind: 'field',
        point,
        kernelIndex: k.index,
        podnetIndex: p.index,
        field: `${kp.field} (pattern)`,
        kernel: `${kp.value}: ${describe(kc)}`,
        podnet: `${pp.value}: ${describe(pc)}`,
        summary: k.summary,
        podnetFrame: p,
        note: `random in the kernel; compared as "equal to which earlier frame" within ${kp.scope}`,
      });
    }
  });

  // timing: delayed ARP probes
  for (const [k, p] of pairs) {
    const dk = delayedProbeDelay(K, k);
    const dp = delayedProbeDelay(P, p);
    if (dk === undefined && dp === undefined) continue;
    const inWin = (d: Nanos | undefined): boolean =>
      d !== undefined && d >= DELAY_PROBE_WINDOW[0] && d <= DELAY_PROBE_WINDOW[1];
    if (inWin(dk) && inWin(dp)) continue;
    if (dk === undefined || dp === undefined) continue;
    mismatches.push({
      kind: 'timing',
      point,
      kernelIndex: k.index,
      podnetIndex: p.index,
      field: 'arp probe delay after first use',
      kernel: msStr(dk),
      podnet: msStr(dp),
      summary: k.summary,
      podnetFrame: p,
      note: `expected ${DELAY_PROBE_WINDOW[0] / 1e9}–${DELAY_PROBE_WINDOW[1] / 1e9} s on both sides`,
    });
  }

  mismatches.sort((a, b) => (a.kernelIndex ?? a.podnetIndex ?? 0) - (b.kernelIndex ?? b.podnetIndex ?? 0));
  return { point, kernel: K, podnet: P, pairs, mismatches, tolerated };
}
