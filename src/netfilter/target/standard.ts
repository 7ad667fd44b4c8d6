/**
 * The standard verdicts ACCEPT, DROP and RETURN (libxt_standard; in the kernel a verdict, not a
 * target function). Jumps and gotos to user chains are the ruleset model's own targets.
 */
import { Fail, noOptions, type ExtParser, type TargetExtension, type Tok } from '../extension.js';

/** `-j ACCEPT`. */
export interface AcceptTarget {
  readonly kind: 'ACCEPT';
}

/** `-j DROP`. */
export interface DropTarget {
  readonly kind: 'DROP';
}

/** `-j RETURN`: back to the calling chain (or the built-in chain's policy). */
export interface ReturnTarget {
  readonly kind: 'RETURN';
}

/** ACCEPT. */
export const accept: TargetExtension<AcceptTarget> = {
  name: 'ACCEPT',
  verdict: 'accept',
  parser: () => noOptions<AcceptTarget>({ kind: 'ACCEPT' }),
  print: () => ' -j ACCEPT',
  verdictText: () => 'ACCEPT',
  evaluate() {},
};

/** DROP (not in the nat table, as iptables refuses it there). */
export const drop: TargetExtension<DropTarget> = {
  name: 'DROP',
  verdict: 'drop',
  parser(at: Tok): ExtParser<DropTarget> {
    return {
      opts: {},
      apply() {},
      finish(ctx) {
        if (ctx.table === 'nat')
          throw new Fail(
            at.col,
            'the "nat" table is not intended for filtering, the use of DROP is therefore inhibited',
          );
        return { kind: 'DROP' };
      },
    };
  },
  print: () => ' -j DROP',
  verdictText: () => 'DROP',
  evaluate() {},
};

/** RETURN. */
export const ret: TargetExtension<ReturnTarget> = {
  name: 'RETURN',
  verdict: 'return',
  parser: () => noOptions<ReturnTarget>({ kind: 'RETURN' }),
  print: () => ' -j RETURN',
  evaluate() {},
};
