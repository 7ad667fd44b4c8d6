/** `-m tcp` (libxt_tcp, xt_tcpudp): ports, `--tcp-flags`/`--syn`, `--tcp-option`. */
import { IPPROTO_TCP, Ipv4View } from '../../wire/ipv4.js';
import type { Packet } from '../../net/packet.js';
import { Fail, O1I, inv, num, type ExtParser, type MatchExtension, type OptSpec, type Tok } from '../extension.js';
import { PORT_OPTS, PortsOptions, portsMatch, printPorts, type PortsFields } from './ports.js';

/** TCP flag bits as the tcp match uses them. */
export const TCP_FLAG_BITS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

/** `-m tcp`. Absent fields match anything. */
export interface TcpMatch extends PortsFields {
  readonly kind: 'tcp';
  /** `--tcp-flags MASK COMP` (`--syn` is mask FIN,SYN,RST,ACK comp SYN). */
  readonly flags?: { readonly mask: number; readonly cmp: number; readonly invert: boolean };
  /** `--tcp-option N`. */
  readonly option?: { readonly option: number; readonly invert: boolean };
}

const OPTS: Readonly<Record<string, OptSpec>> = {
  ...PORT_OPTS,
  syn: { args: 0, invert: true, canon: 'flags' },
  'tcp-flags': { args: 2, invert: true, canon: 'flags' },
  'tcp-option': O1I,
};

function tcpFlag(t: Tok): number {
  let bits = 0;
  for (const part of t.text.split(',')) {
    const up = part.toUpperCase();
    if (up === 'ALL') bits |= 0x3f;
    else if (up === 'NONE') continue;
    else if (up in TCP_FLAG_BITS) bits |= TCP_FLAG_BITS[up as keyof typeof TCP_FLAG_BITS];
    else throw new Fail(t.col, `unknown TCP flag "${part}"`);
  }
  return bits;
}

function printFlags(bits: number): string {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(TCP_FLAG_BITS)) if (bits & bit) names.push(name);
  return names.length === 0 ? 'NONE' : names.join(',');
}

function tcpHasOption(pkt: Packet, kind: number): boolean {
  const ip = new Ipv4View(pkt.buf, pkt.l3);
  const l4 = ip.payloadOffset;
  const hlen = (pkt.buf[l4 + 12]! >>> 4) * 4;
  for (let o = l4 + 20; o < l4 + hlen; ) {
    const k = pkt.buf[o]!;
    if (k === kind) return true;
    if (k === 0) break;
    if (k === 1) {
      o++;
      continue;
    }
    const len = pkt.buf[o + 1]!;
    if (len < 2) break;
    o += len;
  }
  return false;
}

/** The tcp module. */
export const tcp: MatchExtension<TcpMatch> = {
  name: 'tcp',
  parser(at: Tok): ExtParser<TcpMatch> {
    const ports = new PortsOptions(false);
    let flags: { mask: number; cmp: number; invert: boolean } | undefined;
    let option: { option: number; invert: boolean } | undefined;
    return {
      opts: OPTS,
      apply(o, args, invert) {
        const canon = OPTS[o]!.canon ?? o;
        if (ports.apply(canon, args[0], invert)) return;
        if (canon === 'flags') {
          flags =
            o === 'syn'
              ? { mask: 0x17, cmp: 0x02, invert }
              : { mask: tcpFlag(args[0]!), cmp: tcpFlag(args[1]!), invert };
        } else option = { option: num(args[0]!, 255, 'TCP option', 1), invert };
      },
      finish(ctx) {
        return {
          kind: 'tcp',
          ...ports.finish(ctx, at, 'tcp', IPPROTO_TCP),
          ...(flags !== undefined ? { flags } : {}),
          ...(option !== undefined ? { option } : {}),
        };
      },
    };
  },
  print(m) {
    let s = printPorts('tcp', m);
    if (m.option !== undefined) s += `${inv(m.option.invert)} --tcp-option ${m.option.option}`;
    if (m.flags !== undefined)
      s += `${inv(m.flags.invert)} --tcp-flags ${printFlags(m.flags.mask)} ${printFlags(m.flags.cmp)}`;
    return s;
  },
  evaluate(m, ctx) {
    if (!portsMatch(m, ctx, IPPROTO_TCP)) return false;
    if (m.flags && ((ctx.tcpFlags & m.flags.mask) === m.flags.cmp) === m.flags.invert) return false;
    if (m.option) return tcpHasOption(ctx.pkt, m.option.option) !== m.option.invert;
    return true;
  },
};
