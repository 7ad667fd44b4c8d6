/**
 * Services in the kernel conformance check: backend-choice replay.
 *
 * kube-proxy picks a Service's backend with `-m statistic --mode random` rules, so the kernel and
 * podnet cannot be expected to pick the same one. For every flow to a Service address:
 *
 * 1. **What the kernel chose** (`extractChoices`): every SYN (UDP: every datagram) the client
 *    sent to the Service address is found at the client's capture point — attempt by attempt,
 *    by the source port the agent reported, retransmissions in order — and then, by its IP ID
 *    and sequence number (which NAT leaves alone), at every other capture point: the copies
 *    after DNAT name the backend. A SYN whose DNATed copy no capture point shows (hairpin mode
 *    off: it dies inside the bridge) is attributed with the kernel's own KUBE-SEP DNAT rule
 *    counters (`iptables-save -c`), when they leave exactly one backend unaccounted for.
 * 2. **What podnet lists** (`ChoiceRecorder`): podnet's entry node explores every way through
 *    its nat table for that very packet (the `--all-paths` machinery: affinity lists and
 *    Local-policy restrictions included) just before deciding. The kernel's choice must be one
 *    of those backends.
 * 3. **The replay**: podnet runs the Scenario again with the entry node's
 *    `Netfilter.statisticDecider` forcing each SYN's choice (rule i of the KUBE-SVC/KUBE-SVL
 *    cascade matches iff it jumps to the chosen backend's KUBE-SEP chain), SYN by SYN in the
 *    kernel's order, and the packets are compared as for any other scenario. What podnet then
 *    chose is read back from its own captures exactly as the kernel's was (`compareChoices`).
 * 4. **The distribution** (verify.ts, stats.ts): the kernel's random choices against podnet's
 *    own, unforced ones (a separate run with the seed), chi-square test of homogeneity.
 *
 * A choice is identified by its slot: probe, attempt and SYN within the attempt
 * (`probe/attempt/syn`, all 0-based).
 */
import type { Simulation } from '../api/simulation.js';
import type { Cidr, ClusterModel, ProbeModel } from '../kube/model.js';
import type { Network } from '../kube/network.js';
import type { Chain, Table } from '../netfilter/rules.js';
import type { ExploredPath, StatisticDecider } from '../netfilter/engine.js';
import type { Packet } from '../net/packet.js';
import { Ipv4View } from '../wire/ipv4.js';
import { dissectFrame, isMalformed } from '../wire/dissect.js';
import type { FrameDissection } from '../wire/dissect.js';
import { formatIpv4 } from '../wire/addr.js';
import type { Nanos } from '../sim/time.js';
import type { FrameInput } from './records.js';
import type { Mismatch } from './compare.js';

/** A backend as podnet lists it for a flow. */
export interface ListedBackend {
  /** The pod (display name) behind the endpoint, or the address when no pod has it. */
  readonly pod: string;
  /** `ip:port` the DNAT rule writes. */
  readonly addr: string;
  /** The endpoint's KUBE-SEP chain. */
  readonly sepChain: string;
}

/** A Scenario probe that talks to a Service address (its backend is chosen at random). */
export interface ServiceProbe {
  readonly probe: number;
  readonly name: string;
  readonly protocol: 'tcp' | 'udp';
  /** Attempts and the time between their starts (podnet starts attempt j at j × interval). */
  readonly count: number;
  readonly interval: Nanos;
  /** The client (as podnet names it) and its capture point (the device its packets leave by). */
  readonly client: string;
  readonly clientPoint: string;
  readonly clientIp: string;
  /** The Service address the client talks to. */
  readonly dst: string;
  readonly dport: number;
  /** kube-proxy's service port name (`default/web:http`). */
  readonly service: string;
  readonly via: 'ClusterIP' | 'NodePort';
  /** The node whose nat table makes the choice. */
  readonly entryNode: string;
  /** The KUBE-SVC/KUBE-SVL chain the choice is made in on that node (undefined: none, e.g. no local endpoint). */
  readonly chain: string | undefined;
  /** The backends that chain can pick (podnet's rules on the entry node), in rule order. */
  readonly listed: readonly ListedBackend[];
  readonly affinity: boolean;
}

function lookupChain(t: Table | undefined, name: string): Chain | undefined {
  return t?.chains.get(name) ?? t?.shared?.get(name);
}

/** The KUBE-SEP chains a KUBE-SVC/KUBE-SVL chain jumps to, with their endpoints, in rule order. */
function listedIn(net: Network, node: string, chainName: string): ListedBackend[] {
  const nat = net.nodes.get(node)?.nf.ruleset.tables.nat;
  const chain = lookupChain(nat, chainName);
  const out: ListedBackend[] = [];
  for (const r of chain?.rules ?? []) {
    if (r.target?.kind !== 'jump') continue;
    const sep = r.target.chain;
    if (out.some((o) => o.sepChain === sep)) continue;
    const ep = net.rules.endpointByChain(sep)?.ep;
    if (ep === undefined) continue;
    out.push({
      pod: net.podsByIp.get(ep.ip)?.display ?? formatIpv4(ep.ip),
      addr: `${formatIpv4(ep.ip)}:${ep.port}`,
      sepChain: sep,
    });
  }
  return out;
}

/**
 * Whether kube-proxy's local-traffic detector on `entry` counts the client as one of its pods
 * (the "pod traffic" rule of a Local-policy KUBE-EXT chain): by source range, or for the interface
 * detectors by arriving from a pod on that node's bridge (cni0; a veth name prefix never matches there).
 */
function detectedLocal(model: ClusterModel, entry: string, clientIp: number, podOnEntry: boolean): boolean {
  const d = model.kubeProxy?.detectLocal ?? { mode: 'ClusterCIDR', cidr: model.clusterCIDR };
  const inCidr = (c: Cidr): boolean => (c.len === 0 ? true : (clientIp ^ c.addr) >>> (32 - c.len) === 0);
  switch (d.mode) {
    case 'ClusterCIDR':
      return inCidr(d.cidr);
    case 'NodeCIDR': {
      const n = model.nodes.find((x) => x.name === entry);
      return n !== undefined && inCidr(n.podCIDR);
    }
    case 'BridgeInterface':
      return podOnEntry && d.bridgeInterface === 'cni0';
    case 'InterfaceNamePrefix':
      return podOnEntry && 'cni0'.startsWith(d.interfaceNamePrefix);
    case 'NoOp':
      return false;
  }
}

/**
 * The Scenario's probes that talk to a Service address: TCP/UDP to a ClusterIP:port from a pod
 * or node, or to a node address:NodePort from anywhere. `sim` is any Simulation of the model
 * (only its network is read).
 */
export function serviceProbes(sim: Simulation, probes: readonly ProbeModel[]): ServiceProbe[] {
  const net = sim.network;
  const out: ServiceProbe[] = [];
  probes.forEach((p, i) => {
    if (p.protocol === 'icmp') return;
    const from = sim.resolveFrom(p.from);
    const to = sim.resolveTo(p.to);
    const dport = p.port ?? to.port;
    if (dport === undefined) return;
    const proto = p.protocol;
    const pod = [...net.pods.values()].find((x) => x.ns === from.ns && !x.model.hostNetwork);
    const clientNode = pod?.node ?? [...net.nodes.values()].find((n) => n.ns === from.ns);
    const ext = [...net.externals.values()].find((e) => e.ns === from.ns);
    const clientIp = pod?.model.ip ?? clientNode?.model.ip ?? ext?.model.ip;
    const eth0 = from.ns.devices.find((d) => d.name === 'eth0');
    if (clientIp === undefined || eth0 === undefined) return;
    for (const sp of net.rules.servicePorts) {
      if (sp.protocol !== proto) continue;
      let via: ServiceProbe['via'] | undefined;
      let entry: string | undefined;
      if (sp.clusterIP === to.dst && sp.port === dport && clientNode !== undefined) {
        via = 'ClusterIP';
        entry = clientNode.model.name;
      } else if (sp.nodePort !== 0 && sp.nodePort === dport) {
        const owner = [...net.nodes.values()].find((n) => n.ns.addrs.some((a) => a.addr === to.dst));
        if (owner !== undefined) {
          via = 'NodePort';
          entry = owner.model.name;
        }
      }
      if (via === undefined || entry === undefined) continue;
      const nsp = net.rules.nodeServicePort(entry, sp);
      let chain: string | undefined;
      if (via === 'ClusterIP') chain = nsp.internalChain;
      else if (nsp.externalChain !== undefined && nsp.hasExternalEndpoints) {
        const fromCluster = detectedLocal(
          net.model,
          entry,
          clientIp,
          pod !== undefined && pod.node.model.name === entry,
        );
        chain = sp.externalPolicyLocal && !fromCluster ? sp.chains.svl : sp.chains.svc;
      }
      out.push({
        probe: i,
        name: p.name,
        protocol: proto,
        count: p.count,
        interval: p.interval,
        client: from.name,
        clientPoint: eth0.point.name,
        clientIp: formatIpv4(clientIp),
        dst: formatIpv4(to.dst),
        dport,
        service: sp.name,
        via,
        entryNode: entry,
        chain,
        listed: chain === undefined ? [] : listedIn(net, entry, chain),
        affinity: sp.affinitySeconds !== undefined,
      });
      break;
    }
  });
  return out;
}

/** `probe/attempt/syn`. */
export function slotKey(probe: number, attempt: number, ordinal: number): string {
  return `${probe}/${attempt}/${ordinal}`;
}

/** One SYN (UDP: datagram) a client sent to a Service address. */
export interface SentSyn {
  readonly t: Nanos;
  readonly ipId: number;
  /** The TCP sequence number (the ISN); undefined for UDP. */
  readonly seq: number | undefined;
  readonly sport: number;
}

/** A copy of a sent SYN seen at a capture point (before or after NAT). */
export interface SynCopy {
  readonly point: string;
  readonly t: Nanos;
  /** The real endpoints as seen there, `src:sport>dst:dport`. */
  readonly tuple: string;
}

/** The backend one SYN went to. */
export interface Choice {
  readonly probe: number;
  readonly attempt: number;
  /** Which SYN of the attempt (0: the first, 1: its first retransmission, …). */
  readonly ordinal: number;
  readonly syn: SentSyn;
  /** `ip:port` after DNAT; undefined when it cannot be told. */
  readonly endpoint: string | undefined;
  /** capture: seen after DNAT; counters: attributed with the DNAT rule counters; none: unknown. */
  readonly how: 'capture' | 'counters' | 'none';
  readonly copies: readonly SynCopy[];
}

/** What one side chose, slot by slot. */
export interface Choices {
  readonly slots: readonly Choice[];
  /** Things that could not be told (printed in the report; the slot's endpoint is undefined). */
  readonly problems: readonly string[];
}

/** Packets each node's KUBE-SEP DNAT rule matched: node name → KUBE-SEP chain → packets. */
export type DnatCounters = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** podnet's KUBE-SEP DNAT counters of every node. */
export function podnetDnatCounters(net: Network): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const [name, node] of net.nodes) {
    const m = new Map<string, number>();
    const nat = node.nf.ruleset.tables.nat;
    const chains = [...(nat?.chains.values() ?? []), ...(nat?.shared?.values() ?? [])];
    for (const c of chains) {
      if (!c.name.startsWith('KUBE-SEP-')) continue;
      const i = c.rules.findIndex((r) => r.target?.kind === 'DNAT');
      if (i >= 0) m.set(c.name, node.nf.counters.get(c, i).packets);
    }
    out.set(name, m);
  }
  return out;
}

/** The KUBE-SEP DNAT counters in `iptables-save -c -t nat` output. */
export function parseDnatCounters(save: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of save.split('\n')) {
    const r = /^\[(\d+):\d+\] -A (KUBE-SEP-\S+) .*-j DNAT\b/.exec(line);
    if (r) m.set(r[2]!, (m.get(r[2]!) ?? 0) + Number(r[1]));
  }
  return m;
}

interface Seen {
  readonly point: string;
  readonly t: Nanos;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /** TCP ISN or undefined (UDP). */
  readonly seq: number | undefined;
  readonly ipId: number;
}

function innermost(d: FrameDissection): FrameDissection {
  let x = d;
  for (let i = 0; i < 4 && x.inner !== undefined; i++) x = x.inner;
  return x;
}

/**
 * Every TCP SYN (without ACK) and every unfragmented UDP datagram at every point, by `t<ipId>/<seq>` or
 * `u<ipId>/<len>`.
 */
function indexSyns(
  frames: ReadonlyMap<string, readonly FrameInput[]>,
  vxlanPorts: readonly number[],
): Map<string, Seen[]> {
  const index = new Map<string, Seen[]>();
  const add = (key: string, s: Seen): void => {
    let l = index.get(key);
    if (l === undefined) index.set(key, (l = []));
    l.push(s);
  };
  for (const [point, fs] of frames) {
    for (const f of fs) {
      const d = innermost(dissectFrame(f.bytes, { vxlanPorts }));
      const ip = d.ip;
      if (ip === undefined || isMalformed(ip) || ip.mf || ip.fragOffset > 0) continue;
      const tcp = d.tcp;
      const udp = d.udp;
      if (tcp !== undefined && !isMalformed(tcp)) {
        if (!tcp.flags.includes('S') || tcp.flags.includes('.')) continue;
        add(`t${ip.id}/${tcp.seq}`, {
          point,
          t: f.t,
          src: ip.src,
          sport: tcp.sport,
          dst: ip.dst,
          dport: tcp.dport,
          seq: tcp.seq,
          ipId: ip.id,
        });
      } else if (udp !== undefined && !isMalformed(udp) && !vxlanPorts.includes(udp.dport)) {
        add(`u${ip.id}/${udp.len}`, {
          point,
          t: f.t,
          src: ip.src,
          sport: udp.sport,
          dst: ip.dst,
          dport: udp.dport,
          seq: undefined,
          ipId: ip.id,
        });
      }
    }
  }
  return index;
}

/** How long after the client sent it a SYN's copies may appear (it crosses at most a few hops). */
const COPY_WINDOW: Nanos = 1_000_000_000;

/**
 * What one side chose for every SYN of every Service probe, read from its captures (see the
 * module comment). `localPort(probe, attempt)` is the client port of an attempt (the kernel
 * agents print it; podnet's reports hold it), `attempts(probe)` how many attempts the probe made.
 */
export function extractChoices(
  probes: readonly ServiceProbe[],
  frames: ReadonlyMap<string, readonly FrameInput[]>,
  localPort: (probe: number, attempt: number) => number | undefined,
  attempts: (probe: number) => number,
  counters: DnatCounters,
  vxlanPorts: readonly number[],
): Choices {
  const index = indexSyns(frames, vxlanPorts);
  const problems: string[] = [];
  const slots: Choice[] = [];
  const pending: Array<{ sp: ServiceProbe; choice: Choice }> = [];
  // a connection (its SYNs) is claimed by one attempt only, across probes (two probes may talk to
  // the same address, and a later attempt may get a port an earlier one had)
  const claimed = new Set<Seen>();
  for (const sp of [...probes].sort((a, b) => a.probe - b.probe)) {
    // (no backend on this path, say Local policy on a node without one: nothing is chosen, but a
    // kernel SYN seen DNATed anyway is still a slot, and compareChoices reports it as unlisted)
    // the client's SYNs to the Service address at its own capture point, by connection
    const groups: Array<{ conn: string; sport: number; syns: Seen[] }> = [];
    for (const [key, seen] of index) {
      for (const s of seen) {
        if (s.point !== sp.clientPoint || s.src !== sp.clientIp || s.dst !== sp.dst || s.dport !== sp.dport) continue;
        if ((sp.protocol === 'tcp') !== key.startsWith('t')) continue;
        const conn = sp.protocol === 'tcp' ? `${s.sport}/${s.seq}` : `${s.sport}/${s.ipId}`;
        let g = groups.find((x) => x.conn === conn);
        if (g === undefined) groups.push((g = { conn, sport: s.sport, syns: [] }));
        g.syns.push(s);
      }
    }
    for (const g of groups) g.syns.sort((a, b) => a.t - b.t);
    groups.sort((a, b) => a.syns[0]!.t - b.syns[0]!.t);
    const n = attempts(sp.probe);
    // attempts start in order: each one's connection comes after the previous one's
    let after = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      const port = localPort(sp.probe, j);
      const g = groups.find(
        (x) => !claimed.has(x.syns[0]!) && x.syns[0]!.t >= after && (port === undefined || x.sport === port),
      );
      if (g === undefined) continue;
      claimed.add(g.syns[0]!);
      after = g.syns[0]!.t;
      g.syns.forEach((s, ordinal) => {
        const all = lookupCopies(index, sp, s);
        const dnated = new Set(
          all.filter((c) => !(c.dst === sp.dst && c.dport === sp.dport)).map((c) => `${c.dst}:${c.dport}`),
        );
        const copies: SynCopy[] = all.map((c) => ({
          point: c.point,
          t: c.t,
          tuple: `${c.src}:${c.sport}>${c.dst}:${c.dport}`,
        }));
        const syn: SentSyn = { t: s.t, ipId: s.ipId, seq: s.seq, sport: s.sport };
        const base = { probe: sp.probe, attempt: j, ordinal, syn, copies };
        if (dnated.size === 1) {
          slots.push({ ...base, endpoint: [...dnated][0]!, how: 'capture' });
        } else if (dnated.size > 1) {
          problems.push(
            `${sp.name} attempt ${j + 1} SYN ${ordinal + 1}: seen DNATed to several backends (${[...dnated].join(', ')})`,
          );
          slots.push({ ...base, endpoint: undefined, how: 'none' });
        } else {
          const c: Choice = { ...base, endpoint: undefined, how: 'none' };
          slots.push(c);
          pending.push({ sp, choice: c });
        }
      });
    }
  }
  // SYNs no capture point shows after DNAT: the entry node's DNAT counters may tell
  if (pending.length > 0) {
    const remainder = new Map<string, Map<string, number>>();
    const byAddr = (sp: ServiceProbe, addr: string | undefined): string | undefined =>
      sp.listed.find((l) => l.addr === addr)?.sepChain;
    for (const sp of probes) {
      if (!remainder.has(sp.entryNode)) remainder.set(sp.entryNode, new Map(counters.get(sp.entryNode) ?? []));
    }
    for (const c of slots) {
      const sp = probes.find((x) => x.probe === c.probe)!;
      const sep = byAddr(sp, c.endpoint);
      const r = remainder.get(sp.entryNode)!;
      if (sep !== undefined && r.has(sep)) r.set(sep, r.get(sep)! - 1);
    }
    for (const { sp, choice } of pending.sort((a, b) => a.choice.syn.t - b.choice.syn.t)) {
      const r = remainder.get(sp.entryNode)!;
      const open = sp.listed.filter((l) => (r.get(l.sepChain) ?? 0) > 0);
      const where = `${sp.name} attempt ${choice.attempt + 1} SYN ${choice.ordinal + 1}`;
      if (sp.listed.length === 0) continue; // nothing to choose on this path: nothing to attribute
      if (open.length === 1) {
        const l = open[0]!;
        r.set(l.sepChain, r.get(l.sepChain)! - 1);
        slots[slots.indexOf(choice)] = { ...choice, endpoint: l.addr, how: 'counters' };
      } else if (open.length === 0) {
        problems.push(
          `${where}: not seen after DNAT at any capture point, and ${sp.entryNode}'s KUBE-SEP DNAT counters account for every other SYN (dropped before DNAT?)`,
        );
      } else {
        problems.push(
          `${where}: not seen after DNAT at any capture point; ${sp.entryNode}'s DNAT counters leave ${open.map((l) => l.pod).join(' and ')} possible`,
        );
      }
    }
  }
  slots.sort((a, b) => a.probe - b.probe || a.attempt - b.attempt || a.ordinal - b.ordinal);
  return { slots, problems };
}

function lookupCopies(index: Map<string, Seen[]>, sp: ServiceProbe, s: Seen): Seen[] {
  const key = sp.protocol === 'tcp' ? `t${s.ipId}/${s.seq}` : undefined;
  let cand: Seen[];
  if (key !== undefined) cand = index.get(key) ?? [];
  else {
    // UDP: the same IP ID and length (the datagram keeps both through NAT)
    cand = [];
    for (const [k, v] of index) if (k.startsWith(`u${s.ipId}/`)) cand.push(...v);
    cand = cand.filter((c) => c.seq === undefined);
  }
  return cand.filter((c) => c.t >= s.t && c.t <= s.t + COPY_WINDOW);
}

/** One nat decision podnet made for a Service probe's SYN. */
export interface Decision {
  readonly probe: number;
  readonly attempt: number;
  readonly ordinal: number;
  /** The SYN's `ipId/seq` (UDP: `ipId/u`), to tie it to the captures. */
  readonly key: string;
  /** Every backend podnet's nat table could pick for this very packet, with its probability. */
  readonly listed: ReadonlyArray<ListedBackend & { readonly probability: number }>;
  /** More than one backend possible: a random choice (affinity or a single endpoint leave one). */
  readonly random: boolean;
  /** The backend forced (as the kernel chose), if any. */
  readonly forced: string | undefined;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Watches (and, given the kernel's choices, forces) podnet's backend choices on each Service
 * probe's entry node: the nat explorer sees every new flow before its DNAT is decided (every
 * SYN, affinity or not), numbers it and lists what the rules allow; the statistic decider then
 * makes rule i of the cascade match iff it jumps to the forced backend's KUBE-SEP chain.
 *
 * Numbering: the probe by the packet's flow; the attempt by its connection (source port and
 * ISN; UDP: each datagram), a new connection taking the attempt whose start (podnet starts
 * attempt j at j × interval after the first) is nearest — so an attempt that never reaches a
 * nat decision does not shift the ones after it; the SYN within the attempt by its IP ID.
 */
export class ChoiceRecorder {
  readonly decisions = new Map<string, Decision>();
  private readonly attempts = new Map<
    number,
    { base: Nanos; conns: Map<string, { attempt: number; keys: string[] }> }
  >();
  private now: () => Nanos = () => 0;
  private readonly current = new Map<string, string | undefined>();

  /** `forced`: slot → `ip:port` (the kernel's choices); undefined: only watch. */
  constructor(
    private readonly probes: readonly ServiceProbe[],
    private readonly forced: ReadonlyMap<string, string> | undefined,
  ) {}

  /** Installs the explorer and decider on every entry node; a probe's packets carry flow probe + 1. */
  install(net: Network): void {
    this.now = () => net.world.now;
    const byNode = new Map<string, Map<number, ServiceProbe>>();
    for (const sp of this.probes) {
      let m = byNode.get(sp.entryNode);
      if (m === undefined) byNode.set(sp.entryNode, (m = new Map()));
      m.set(sp.probe + 1, sp);
    }
    for (const [node, flows] of byNode) {
      const nf = net.nodes.get(node)?.nf;
      if (nf === undefined) continue;
      nf.explorer = (paths, _hook, pkt) => this.explore(flows, paths, pkt, net);
      const decide: StatisticDecider = (chain, index, _p, pkt) => this.decide(flows, chain, index, pkt);
      nf.statisticDecider = decide;
    }
  }

  private packetOf(
    flows: ReadonlyMap<number, ServiceProbe>,
    pkt: Packet,
  ): { sp: ServiceProbe; key: string; conn: string } | undefined {
    const sp = flows.get(pkt.flow);
    if (sp === undefined) return undefined;
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    if (ip.isFragment) return undefined;
    const l4 = ip.payloadOffset;
    const proto = ip.protocol;
    if ((sp.protocol === 'tcp' && proto !== 6) || (sp.protocol === 'udp' && proto !== 17)) return undefined;
    if (formatIpv4(ip.dst) !== sp.dst || u16(pkt.buf, l4 + 2) !== sp.dport) return undefined;
    const sport = u16(pkt.buf, l4);
    if (proto === 6) {
      const flags = pkt.buf[l4 + 13]!;
      if ((flags & 0x12) !== 0x02) return undefined;
      const seq = u32(pkt.buf, l4 + 4);
      return { sp, key: `${ip.ident}/${seq}`, conn: `${sport}/${seq}` };
    }
    return { sp, key: `${ip.ident}/u`, conn: `${sport}/${ip.ident}` };
  }

  private explore(
    flows: ReadonlyMap<number, ServiceProbe>,
    paths: readonly ExploredPath[],
    pkt: Packet,
    net: Network,
  ): void {
    const p = this.packetOf(flows, pkt);
    if (p === undefined) return;
    const now = this.now();
    let m = this.attempts.get(p.sp.probe);
    if (m === undefined) this.attempts.set(p.sp.probe, (m = { base: now, conns: new Map() }));
    let a = m.conns.get(p.conn);
    if (a === undefined) {
      const j = p.sp.count > 1 && p.sp.interval > 0 ? Math.round((now - m.base) / p.sp.interval) : 0;
      m.conns.set(p.conn, (a = { attempt: Math.max(0, Math.min(p.sp.count - 1, j)), keys: [] }));
    }
    let ordinal = a.keys.indexOf(p.key);
    if (ordinal < 0) {
      ordinal = a.keys.length;
      a.keys.push(p.key);
    }
    const slot = slotKey(p.sp.probe, a.attempt, ordinal);
    const listed: Array<ListedBackend & { probability: number }> = [];
    for (const path of paths) {
      const t = path.nat;
      if (t === undefined || t.kind !== 'DNAT' || t.range.ips === undefined) continue;
      const ipMin = t.range.ips.min;
      const addr = `${formatIpv4(ipMin)}:${t.range.ports?.min ?? p.sp.dport}`;
      const sepChain = [...path.rules].reverse().find((r) => r.chain.startsWith('KUBE-SEP-'))?.chain ?? '?';
      const had = listed.find((l) => l.addr === addr && l.sepChain === sepChain);
      if (had !== undefined) had.probability += path.probability;
      else
        listed.push({
          pod: net.podsByIp.get(ipMin)?.display ?? formatIpv4(ipMin),
          addr,
          sepChain,
          probability: path.probability,
        });
    }
    const want = this.forced?.get(slot);
    const sep = want === undefined ? undefined : listed.find((l) => l.addr === want)?.sepChain;
    // a kernel choice podnet does not list cannot be forced: podnet's own RNG decides (compareChoices reports it)
    this.current.set(p.key, sep);
    if (!this.decisions.has(slot)) {
      this.decisions.set(slot, {
        probe: p.sp.probe,
        attempt: a.attempt,
        ordinal,
        key: p.key,
        listed,
        random: new Set(listed.map((l) => l.addr)).size > 1,
        forced: sep === undefined ? undefined : want,
      });
    }
  }

  private decide(
    flows: ReadonlyMap<number, ServiceProbe>,
    chain: Chain,
    index: number,
    pkt: Packet,
  ): boolean | undefined {
    const p = this.packetOf(flows, pkt);
    if (p === undefined) return undefined;
    const sep = this.current.get(p.key);
    if (sep === undefined) return undefined;
    const t = chain.rules[index]?.target;
    return t !== undefined && t.kind === 'jump' && t.chain === sep;
  }
}

/** A display name for an endpoint address. */
export function endpointName(net: Network, addr: string | undefined): string {
  if (addr === undefined) return '?';
  const ip = addr.split(':')[0]!;
  for (const p of net.pods.values()) if (formatIpv4(p.model.ip) === ip) return p.display;
  return addr;
}

/** One slot as the report shows it. */
export interface SlotReport {
  readonly slot: string;
  readonly probe: string;
  readonly attempt: number;
  readonly ordinal: number;
  /** The kernel's choice (pod name), how it was told, and whether podnet's rules list it. */
  readonly kernel: string;
  readonly how: Choice['how'] | 'absent';
  /** What podnet chose replaying it (forced when listed). */
  readonly podnet: string;
  readonly forced: boolean;
  readonly random: boolean;
  readonly listed: readonly string[];
}

/**
 * Compares the kernel's choices with podnet's in the forced replay, slot by slot: the kernel's
 * choice must be one podnet lists for that SYN, and podnet, forced to it, must have taken it.
 */
export function compareChoices(
  probes: readonly ServiceProbe[],
  kernel: Choices,
  podnet: Choices,
  recorder: ChoiceRecorder,
  net: Network,
): { slots: SlotReport[]; mismatches: Mismatch[] } {
  const mismatches: Mismatch[] = [];
  const slots: SlotReport[] = [];
  const kBy = new Map(kernel.slots.map((c) => [slotKey(c.probe, c.attempt, c.ordinal), c]));
  const pBy = new Map(podnet.slots.map((c) => [slotKey(c.probe, c.attempt, c.ordinal), c]));
  const keys = [...new Set([...kBy.keys(), ...pBy.keys(), ...recorder.decisions.keys()])];
  const order = (k: string): number[] => k.split('/').map(Number);
  keys.sort((a, b) => {
    const x = order(a);
    const y = order(b);
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
  for (const key of keys) {
    const [probe, attempt, ordinal] = order(key) as [number, number, number];
    const sp = probes.find((x) => x.probe === probe);
    if (sp === undefined) continue;
    const k = kBy.get(key);
    const p = pBy.get(key);
    const d = recorder.decisions.get(key);
    const point = `probe ${sp.name}`;
    const field = `backend of attempt ${attempt + 1}${ordinal > 0 || (d !== undefined && sp.protocol === 'tcp') ? ` SYN ${ordinal + 1}` : ''}`;
    const kName =
      k === undefined ? '(no such SYN)' : k.endpoint === undefined ? '(cannot tell)' : endpointName(net, k.endpoint);
    const pName =
      p === undefined ? '(no such SYN)' : p.endpoint === undefined ? '(cannot tell)' : endpointName(net, p.endpoint);
    const listed =
      d?.listed.map((l) => `${l.pod} (${(l.probability * 100).toFixed(1)} %)`) ?? sp.listed.map((l) => l.pod);
    const listedText = `podnet lists ${listed.length === 0 ? 'no backend' : listed.join(', ')} for it on ${sp.entryNode}${sp.chain === undefined ? '' : ` (${sp.chain})`}`;
    slots.push({
      slot: key,
      probe: sp.name,
      attempt,
      ordinal,
      kernel: kName,
      how: k?.how ?? 'absent',
      podnet: pName,
      forced: d?.forced !== undefined,
      random: d?.random ?? false,
      listed,
    });
    if (k === undefined && p === undefined) continue;
    if (k === undefined) {
      mismatches.push({
        kind: 'choice',
        point,
        field,
        kernel: '(no such SYN)',
        podnet: pName,
        note: `podnet sent a SYN the kernel did not send, and made a backend choice for it; ${listedText}`,
      });
      continue;
    }
    if (k.endpoint === undefined) continue; // reported among the problems
    const inList =
      d !== undefined ? d.listed.some((l) => l.addr === k.endpoint) : sp.listed.some((l) => l.addr === k.endpoint);
    if (!inList) {
      mismatches.push({
        kind: 'choice',
        point,
        field,
        kernel: kName,
        podnet: pName,
        note: `the kernel chose a backend podnet does not list for this SYN: ${listedText}`,
      });
      continue;
    }
    if (d === undefined) {
      mismatches.push({
        kind: 'choice',
        point,
        field,
        kernel: kName,
        podnet: pName,
        note: `podnet made no nat decision for this SYN (it never sent it, or no DNAT was considered); ${listedText}`,
      });
      continue;
    }
    if (p === undefined || p.endpoint !== k.endpoint) {
      mismatches.push({
        kind: 'choice',
        point,
        field,
        kernel: kName,
        podnet: pName,
        note: `${d.forced !== undefined ? `replayed with backend ${kName} forced, as the kernel chose, yet podnet reached ${pName}` : `podnet's rules left it no choice (${listed.join(', ')})`}`,
      });
    }
  }
  return { slots, mismatches };
}

/** `/proc/net/xt_recent/<list>` entries: source address and number of timestamps kept (the TTL is not compared). */
export interface RecentEntry {
  readonly src: string;
  readonly hits: number;
}

/** Parses one `/proc/net/xt_recent/<list>` file. */
export function parseXtRecent(text: string): RecentEntry[] {
  const out: RecentEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^src=(\S+) ttl: (\d+) last_seen: \d+ oldest_pkt: \d+ ?(.*)$/.exec(line.trim());
    if (!m) continue;
    const stamps = m[3]!.split(',').filter((x) => x.trim() !== '');
    out.push({ src: m[1]!, hits: stamps.length });
  }
  return out.sort((a, b) => (a.src < b.src ? -1 : a.src > b.src ? 1 : 0));
}

/** podnet's `-m recent` lists of a node, as `/proc/net/xt_recent` would show them. */
export function podnetRecentLists(net: Network, node: string): Map<string, RecentEntry[]> {
  const nf = net.nodes.get(node)?.nf;
  const out = new Map<string, RecentEntry[]>();
  if (nf === undefined) return out;
  for (const name of nf.recentNames()) {
    const entries = nf
      .recentList(name)
      .filter((e) => e.hits > 0)
      .map((e) => ({ src: formatIpv4(e.addr), hits: e.hits }));
    out.set(
      name,
      entries.sort((a, b) => (a.src < b.src ? -1 : a.src > b.src ? 1 : 0)),
    );
  }
  return out;
}

/** Compares every node's recent lists (only non-empty ones matter: the kernel creates every list at rule load). */
export function compareRecent(
  kernel: ReadonlyMap<string, ReadonlyMap<string, readonly RecentEntry[]>>,
  podnet: ReadonlyMap<string, ReadonlyMap<string, readonly RecentEntry[]>>,
): { mismatches: Mismatch[]; lines: string[] } {
  const mismatches: Mismatch[] = [];
  const lines: string[] = [];
  const nodes = [...new Set([...kernel.keys(), ...podnet.keys()])].sort();
  const fmt = (es: readonly RecentEntry[] | undefined): string =>
    es === undefined || es.length === 0 ? '(empty)' : es.map((e) => `src=${e.src} hits=${e.hits}`).join('; ');
  for (const node of nodes) {
    const k = kernel.get(node) ?? new Map<string, readonly RecentEntry[]>();
    const p = podnet.get(node) ?? new Map<string, readonly RecentEntry[]>();
    const names = [...new Set([...k.keys(), ...p.keys()])].sort();
    for (const name of names) {
      const kv = fmt(k.get(name));
      const pv = fmt(p.get(name));
      if (kv === '(empty)' && pv === '(empty)') continue;
      lines.push(`${node} /proc/net/xt_recent/${name}: kernel ${kv}; podnet ${pv}`);
      if (kv !== pv)
        mismatches.push({
          kind: 'state',
          point: `${node} /proc/net/xt_recent/${name}`,
          field: 'entries',
          kernel: kv,
          podnet: pv,
          note: 'ClientIP affinity state (the recent list of the KUBE-SEP chain) differs',
        });
    }
  }
  return { mismatches, lines };
}
