/** `-m comment --comment TEXT` (libxt_comment, xt_comment): always matches; traces name rules by it. */
import { Fail, O1, saveString, type ExtParser, type MatchExtension, type Tok } from '../extension.js';

/** `-m comment --comment TEXT` (always matches). */
export interface CommentMatch {
  readonly kind: 'comment';
  readonly text: string;
}

/** The comment module. */
export const comment: MatchExtension<CommentMatch> = {
  name: 'comment',
  alwaysMatches: true,
  parser(at: Tok): ExtParser<CommentMatch> {
    let text: string | undefined;
    return {
      opts: { comment: O1 },
      apply(_o, [v]) {
        if (v!.text.length > 255) throw new Fail(v!.col, 'comment longer than 255 characters');
        text = v!.text;
      },
      finish() {
        if (text === undefined) throw new Fail(at.col, '-m comment needs --comment');
        return { kind: 'comment', text };
      },
    };
  },
  print: (m) => ` -m comment --comment${saveString(m.text)}`,
  evaluate: () => true,
};

/** The text of a rule's first comment match, if it has one (traces name rules by it). */
export function ruleComment(matches: readonly { readonly kind: string }[]): string | undefined {
  for (const m of matches) if (m.kind === 'comment') return (m as CommentMatch).text;
  return undefined;
}
