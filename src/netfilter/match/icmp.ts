/** `-m icmp --icmp-type` (libipt_icmp, ip_tables' icmp_match). */
import { IPPROTO_ICMP } from '../../wire/ipv4.js';
import { Fail, O1I, inv, needProto, parseNum, type ExtParser, type MatchExtension, type Tok } from '../extension.js';

/** `-m icmp --icmp-type`; type 255 with codes 0..255 is `any`. */
export interface IcmpMatch {
  readonly kind: 'icmp';
  readonly invert: boolean;
  readonly type: number;
  readonly codeMin: number;
  readonly codeMax: number;
}

interface IcmpName {
  readonly name: string;
  readonly type: number;
  readonly codeMin: number;
  readonly codeMax: number;
}

const ICMP_NAMES: readonly IcmpName[] = (
  [
    ['any', 255, 0, 255],
    ['echo-reply', 0, 0, 255],
    ['pong', 0, 0, 255],
    ['destination-unreachable', 3, 0, 255],
    ['network-unreachable', 3, 0, 0],
    ['host-unreachable', 3, 1, 1],
    ['protocol-unreachable', 3, 2, 2],
    ['port-unreachable', 3, 3, 3],
    ['fragmentation-needed', 3, 4, 4],
    ['source-route-failed', 3, 5, 5],
    ['network-unknown', 3, 6, 6],
    ['host-unknown', 3, 7, 7],
    ['network-prohibited', 3, 9, 9],
    ['host-prohibited', 3, 10, 10],
    ['TOS-network-unreachable', 3, 11, 11],
    ['TOS-host-unreachable', 3, 12, 12],
    ['communication-prohibited', 3, 13, 13],
    ['host-precedence-violation', 3, 14, 14],
    ['precedence-cutoff', 3, 15, 15],
    ['source-quench', 4, 0, 255],
    ['redirect', 5, 0, 255],
    ['network-redirect', 5, 0, 0],
    ['host-redirect', 5, 1, 1],
    ['TOS-network-redirect', 5, 2, 2],
    ['TOS-host-redirect', 5, 3, 3],
    ['echo-request', 8, 0, 255],
    ['ping', 8, 0, 255],
    ['router-advertisement', 9, 0, 255],
    ['router-solicitation', 10, 0, 255],
    ['time-exceeded', 11, 0, 255],
    ['ttl-exceeded', 11, 0, 255],
    ['ttl-zero-during-transit', 11, 0, 0],
    ['ttl-zero-during-reassembly', 11, 1, 1],
    ['parameter-problem', 12, 0, 255],
    ['ip-header-bad', 12, 0, 0],
    ['required-option-missing', 12, 1, 1],
    ['timestamp-request', 13, 0, 255],
    ['timestamp-reply', 14, 0, 255],
    ['address-mask-request', 17, 0, 255],
    ['address-mask-reply', 18, 0, 255],
  ] as const
).map(([name, type, codeMin, codeMax]) => ({ name, type, codeMin, codeMax }));

/** The icmp module. */
export const icmp: MatchExtension<IcmpMatch> = {
  name: 'icmp',
  parser(at: Tok): ExtParser<IcmpMatch> {
    let v: { invert: boolean; type: number; codeMin: number; codeMax: number } | undefined;
    return {
      opts: { 'icmp-type': O1I },
      apply(_o, [t], invert) {
        const s = t!.text;
        // Like iptables: a (case-insensitive) prefix of exactly one name, or TYPE[/CODE].
        const hits = ICMP_NAMES.filter((n) => n.name.toLowerCase().startsWith(s.toLowerCase()));
        if (hits.length > 1 && s.length > 0) {
          throw new Fail(t!.col, `ambiguous ICMP type "${s}": "${hits[0]!.name}" or "${hits[1]!.name}"?`);
        }
        if (hits.length === 1) {
          v = { invert, type: hits[0]!.type, codeMin: hits[0]!.codeMin, codeMax: hits[0]!.codeMax };
          return;
        }
        const m = /^([^/]+)(?:\/(.+))?$/.exec(s);
        const type = m === null ? undefined : parseNum(m[1]!, 255);
        const code = m?.[2] === undefined ? undefined : parseNum(m[2], 255);
        if (type === undefined || (m?.[2] !== undefined && code === undefined))
          throw new Fail(t!.col, `unknown ICMP type "${s}"`);
        v =
          code === undefined
            ? { invert, type, codeMin: 0, codeMax: 255 }
            : { invert, type, codeMin: code, codeMax: code };
      },
      finish(ctx) {
        needProto(ctx, at, '-m icmp', [IPPROTO_ICMP]);
        if (v === undefined) throw new Fail(at.col, '-m icmp needs --icmp-type');
        return { kind: 'icmp', ...v };
      },
    };
  },
  print(m) {
    if (m.type === 0xff && m.codeMin === 0 && m.codeMax === 0xff) return ` -m icmp${inv(m.invert)} --icmp-type any`;
    const code = m.codeMin !== 0 || m.codeMax !== 0xff ? `/${m.codeMin}` : '';
    return ` -m icmp${inv(m.invert)} --icmp-type ${m.type}${code}`;
  },
  evaluate(m, ctx) {
    if (ctx.proto !== IPPROTO_ICMP || ctx.fragOff !== 0) return false;
    return (
      (m.type === 255 || (ctx.icmpType === m.type && ctx.icmpCode >= m.codeMin && ctx.icmpCode <= m.codeMax)) !==
      m.invert
    );
  },
};
