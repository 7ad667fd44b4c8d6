/**
 * What tcp, udp and sctp share (the kernel's xt_tcpudp.c and xt_sctp.c): `--sport`/`--dport`
 * with their aliases, printing them, and testing them on a first fragment of the protocol.
 */
import {
  needProto,
  portRangeColon,
  portRange,
  inv,
  inRange,
  type OptSpec,
  type ParseContext,
  type Tok,
} from '../extension.js';
import type { EvalContext } from '../hook-state.js';
import type { PortMatch, PortRange } from '../rules.js';

/** The port fields of a tcp, udp or sctp match. Absent fields match anything. */
export interface PortsFields {
  readonly sport?: PortMatch;
  readonly dport?: PortMatch;
}

/** `--sport`/`--dport` and their long aliases. */
export const PORT_OPTS: Readonly<Record<string, OptSpec>> = {
  sport: { args: 1, invert: true, canon: 'sport' },
  'source-port': { args: 1, invert: true, canon: 'sport' },
  dport: { args: 1, invert: true, canon: 'dport' },
  'destination-port': { args: 1, invert: true, canon: 'dport' },
};

/** Collects `--sport`/`--dport` of one rule. */
export class PortsOptions {
  sport: PortMatch | undefined;
  dport: PortMatch | undefined;

  /** `keepFullRange`: sctp keeps a given 0:65535; tcp/udp store "any port" for it, so it prints as nothing. */
  constructor(private readonly keepFullRange: boolean) {}

  /** Applies `canon` (`sport` or `dport`) with its argument; false if it is not a port option. */
  apply(canon: string, arg: Tok | undefined, invert: boolean): boolean {
    if (canon !== 'sport' && canon !== 'dport') return false;
    const r = portRangeColon(arg!);
    const keep = (x: PortRange): boolean => this.keepFullRange || invert || x.min !== 0 || x.max !== 65535;
    const v = keep(r) ? { ...r, invert } : undefined;
    if (canon === 'sport') this.sport = v;
    else this.dport = v;
    return true;
  }

  /** Checks `-p` and returns the fields present. */
  finish(ctx: ParseContext, at: Tok, name: string, proto: number): PortsFields {
    needProto(ctx, at, `-m ${name}`, [proto]);
    return {
      ...(this.sport !== undefined ? { sport: this.sport } : {}),
      ...(this.dport !== undefined ? { dport: this.dport } : {}),
    };
  }
}

/** ` -m NAME [!] --sport … [!] --dport …`. */
export function printPorts(name: string, m: PortsFields): string {
  let s = ` -m ${name}`;
  if (m.sport !== undefined) s += `${inv(m.sport.invert)} --sport ${portRange(m.sport)}`;
  if (m.dport !== undefined) s += `${inv(m.dport.invert)} --dport ${portRange(m.dport)}`;
  return s;
}

/** The protocol and port tests (a later fragment never matches: it has no ports). */
export function portsMatch(m: PortsFields, ctx: EvalContext, proto: number): boolean {
  if (ctx.proto !== proto || ctx.fragOff !== 0) return false;
  if (m.sport && inRange(ctx.sport, m.sport) === m.sport.invert) return false;
  if (m.dport && inRange(ctx.dport, m.dport) === m.dport.invert) return false;
  return true;
}
