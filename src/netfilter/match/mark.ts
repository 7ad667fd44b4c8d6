/** `-m mark --mark value[/mask]` (libxt_mark, xt_mark). */
import { Fail, O1I, inv, markMask, markValue, type ExtParser, type MatchExtension, type Tok } from '../extension.js';

/** `-m mark --mark value[/mask]`: matches when (skb->mark & mask) === value. */
export interface MarkMatch {
  readonly kind: 'mark';
  readonly invert: boolean;
  readonly value: number;
  readonly mask: number;
}

/** The mark module. */
export const mark: MatchExtension<MarkMatch> = {
  name: 'mark',
  parser(at: Tok): ExtParser<MarkMatch> {
    let v: { invert: boolean; value: number; mask: number } | undefined;
    return {
      opts: { mark: O1I },
      apply(_o, [t], invert) {
        v = { invert, ...markValue(t!) };
      },
      finish() {
        if (v === undefined) throw new Fail(at.col, '-m mark needs --mark');
        return { kind: 'mark', ...v };
      },
    };
  },
  print: (m) => ` -m mark${inv(m.invert)} --mark${markMask(m.value, m.mask)}`,
  // the mark as this traversal has set it so far (MARK in an earlier rule counts)
  evaluate: (m, ctx) => ((ctx.mark & m.mask) === m.value) !== m.invert,
};
