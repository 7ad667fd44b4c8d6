/** `-j CT --notrack` and `-j NOTRACK` (libxt_CT, xt_CT): exempt the packet from connection tracking (raw table). */
import { UNTRACKED } from '../conntrack.js';
import { Fail, O0, type ExtParser, type TargetExtension, type Tok } from '../extension.js';
import type { EvalContext } from '../hook-state.js';

/** `-j NOTRACK` (raw table). */
export interface NotrackTarget {
  readonly kind: 'NOTRACK';
}

/** `-j CT --notrack` (raw table; the only CT form podnet supports). */
export interface CtTarget {
  readonly kind: 'CT';
  readonly notrack: true;
}

function parser<T extends NotrackTarget | CtTarget>(kind: T['kind'], at: Tok): ExtParser<T> {
  let notrack = kind === 'NOTRACK';
  return {
    opts: kind === 'CT' ? { notrack: O0 } : {},
    apply() {
      notrack = true;
    },
    finish(ctx) {
      if (ctx.table !== 'raw') throw new Fail(at.col, `${kind} is only valid in the raw table`);
      if (!notrack) throw new Fail(at.col, 'podnet supports CT only as "-j CT --notrack"');
      return (kind === 'NOTRACK' ? { kind } : { kind, notrack: true }) as T;
    },
  };
}

function untrack(_t: unknown, ctx: EvalContext): void {
  if (ctx.dry === null) ctx.pkt.ct = UNTRACKED;
}

/** NOTRACK. */
export const notrack: TargetExtension<NotrackTarget> = {
  name: 'NOTRACK',
  verdict: 'continue',
  parser: (at) => parser<NotrackTarget>('NOTRACK', at),
  print: () => ' -j NOTRACK',
  evaluate: untrack,
};

/** CT (--notrack only). */
export const ct: TargetExtension<CtTarget> = {
  name: 'CT',
  verdict: 'continue',
  parser: (at) => parser<CtTarget>('CT', at),
  print: () => ' -j CT --notrack',
  evaluate: untrack,
};
