/** `-j REJECT` (libipt_REJECT, ipt_REJECT): drop and answer with an ICMP error or a TCP reset. */
import { Fail, O1, type ExtParser, type TargetExtension, type Tok } from '../extension.js';

/** REJECT's `--reject-with` values (the names iptables-save prints). */
export const REJECT_WITH = [
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-proto-unreachable',
  'icmp-port-unreachable',
  'icmp-net-prohibited',
  'icmp-host-prohibited',
  'tcp-reset',
  'icmp-admin-prohibited',
] as const;
/** A `--reject-with` value. */
export type RejectWith = (typeof REJECT_WITH)[number];

/** `-j REJECT --reject-with …`. */
export interface RejectTarget {
  readonly kind: 'REJECT';
  readonly with: RejectWith;
}

const ALIASES: readonly (readonly [RejectWith, string])[] = [
  ['icmp-net-unreachable', 'net-unreach'],
  ['icmp-host-unreachable', 'host-unreach'],
  ['icmp-proto-unreachable', 'proto-unreach'],
  ['icmp-port-unreachable', 'port-unreach'],
  ['icmp-net-prohibited', 'net-prohib'],
  ['icmp-host-prohibited', 'host-prohib'],
  ['tcp-reset', 'tcp-rst'],
  ['icmp-admin-prohibited', 'admin-prohib'],
];

/** ICMP destination-unreachable codes of the ICMP replies. */
const ICMP_CODES: Readonly<Record<string, number>> = {
  'icmp-net-unreachable': 0,
  'icmp-host-unreachable': 1,
  'icmp-proto-unreachable': 2,
  'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9,
  'icmp-host-prohibited': 10,
  'icmp-admin-prohibited': 13,
};

/** The REJECT module. */
export const reject: TargetExtension<RejectTarget> = {
  name: 'REJECT',
  verdict: 'drop',
  parser(at: Tok): ExtParser<RejectTarget> {
    let withV: RejectWith = 'icmp-port-unreachable';
    let withTok: Tok | undefined;
    return {
      opts: { 'reject-with': O1 },
      apply(_o, [t]) {
        const s = t!.text.toLowerCase();
        // iptables takes the first table entry that the word is a prefix of (name or alias).
        const hit = s.length === 0 ? undefined : ALIASES.find(([n, a]) => n.startsWith(s) || a.startsWith(s));
        if (hit === undefined) throw new Fail(t!.col, `unknown reject type "${t!.text}" (${REJECT_WITH.join(', ')})`);
        withV = hit[0];
        withTok = t;
      },
      finish(ctx) {
        if (withV === 'tcp-reset' && (ctx.proto !== 6 || ctx.protoInvert)) {
          throw new Fail((withTok ?? at).col, 'REJECT --reject-with tcp-reset needs -p tcp');
        }
        return { kind: 'REJECT', with: withV };
      },
    };
  },
  print: (t) => ` -j REJECT --reject-with ${t.with}`,
  verdictText: (t) => `REJECT --reject-with ${t.with}`,
  evaluate(t, ctx) {
    if (ctx.dry !== null) return;
    const stack = ctx.state.nf.ns.stack;
    if (t.with === 'tcp-reset') stack.sendTcpReset(ctx.pkt);
    else stack.sendIcmpError(ctx.pkt, 3, ICMP_CODES[t.with] ?? 3, 0);
  },
};
