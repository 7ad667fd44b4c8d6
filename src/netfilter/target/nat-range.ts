/**
 * What DNAT, SNAT and MASQUERADE share (libxt_DNAT/SNAT/MASQUERADE's parse_to and print_range):
 * the `ip[-ip][:port[-port]]` range syntax, the rule checks iptables makes, and printing.
 */
import { formatIpv4, parseIpv4 } from '../../wire/addr.js';
import type { Rng } from '../../sim/rng.js';
import { Fail, port, type ParseContext, type Tok } from '../extension.js';
import type { EvalContext } from '../hook-state.js';
import type { PortRange, Target } from '../rules.js';

/** Address/port range of a NAT target (`--to-destination 10.0.0.1-10.0.0.3:80-90`). */
export interface NatRange {
  readonly ips?: { readonly min: number; readonly max: number };
  readonly ports?: PortRange;
}

const NAT_PROTOS = [6, 17, 132, 33, 1];

/** `port[-port]` of a NAT range (no `:` ranges, no offsets). */
export function natPorts(s: string, t: Tok): PortRange {
  const m = /^([^-]+)(?:-(.+))?$/.exec(s);
  if (m === null) throw new Fail(t.col, `bad port range "${s}" in "${t.text}"`);
  if (m[2]?.includes('/') === true) throw new Fail(t.col, `port offsets ("/base") are not supported: "${t.text}"`);
  if (m[1]!.includes(':')) throw new Fail(t.col, 'Invalid port:port syntax - use dash');
  const min = port(m[1]!, t);
  const max = m[2] === undefined ? min : port(m[2], t);
  if (max < min) throw new Fail(t.col, `port range "${s}" has min > max`);
  return { min, max };
}

/** `ip[-ip][:port[-port]]` or `:port[-port]` (parse_to in libxt_NAT). */
export function natTo(t: Tok): { range: NatRange; hasPorts: boolean } {
  const s = t.text;
  const colon = s.indexOf(':');
  const ipPart = colon < 0 ? s : s.slice(0, colon);
  const ports = colon < 0 ? undefined : natPorts(s.slice(colon + 1), t);
  let ips: { min: number; max: number } | undefined;
  if (ipPart !== '') {
    const dash = ipPart.indexOf('-');
    const a = parseIpv4(dash < 0 ? ipPart : ipPart.slice(0, dash));
    const b = dash < 0 ? a : parseIpv4(ipPart.slice(dash + 1));
    if (a === undefined || b === undefined) throw new Fail(t.col, `bad IP address in "${s}"`);
    ips = { min: a, max: b };
  } else if (ports === undefined) throw new Fail(t.col, `bad NAT range "${s}"`);
  return {
    range: { ...(ips !== undefined ? { ips } : {}), ...(ports !== undefined ? { ports } : {}) },
    hasPorts: ports !== undefined,
  };
}

/** A range as iptables-save prints it (`skipColon`: MASQUERADE's `--to-ports` has no leading colon). */
export function printNatRange(r: NatRange, skipColon: boolean): string {
  let s = '';
  if (r.ips !== undefined) {
    s += formatIpv4(r.ips.min);
    if (r.ips.max !== r.ips.min) s += `-${formatIpv4(r.ips.max)}`;
  }
  if (r.ports !== undefined) {
    if (!(skipColon && s === '')) s += ':';
    s += r.ports.min === r.ports.max ? String(r.ports.min) : `${r.ports.min}-${r.ports.max}`;
  }
  return s;
}

/**
 * iptables' checks of a NAT target: nat table only, the built-in chains of its direction, and a
 * port range only with a protocol that has ports (`portsTok` is the word that gave ports).
 */
export function checkNatRule(
  kind: 'DNAT' | 'SNAT' | 'MASQUERADE',
  ctx: ParseContext,
  at: Tok,
  portsTok: Tok | undefined,
): void {
  if (ctx.table !== 'nat') throw new Fail(at.col, `${kind} is only valid in the nat table`);
  if (ctx.builtinChain) {
    const ok = kind === 'DNAT' ? ['PREROUTING', 'OUTPUT'] : ['POSTROUTING', 'INPUT'];
    if (!ok.includes(ctx.chain)) throw new Fail(at.col, `${kind} is not valid in ${ctx.chain} (only ${ok.join(', ')})`);
  }
  if (portsTok !== undefined && (!NAT_PROTOS.includes(ctx.proto) || ctx.protoInvert)) {
    throw new Fail(portsTok.col, 'Need TCP, UDP, SCTP or DCCP with port specification');
  }
}

/** A NAT target's evaluation: in the nat table it becomes the flow's mapping (set up when the traversal ends). */
export function chooseNat(t: Target, ctx: EvalContext): void {
  if (ctx.table === 'nat') ctx.nat = t;
}

/** An address from a range, drawn with the netns's RNG when it has more than one. */
export function pickInRange(r: { readonly min: number; readonly max: number }, rng: Rng): number {
  return r.min + (r.max > r.min ? rng.nextInt(r.max - r.min + 1) : 0);
}
