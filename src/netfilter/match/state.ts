/** `-m state --state` (libxt_state, the conntrack match's older alias). */
import { Fail, O1I, inv, nameList, type ExtParser, type MatchExtension, type Tok } from '../extension.js';
import { CT_STATES, packetStateMask, stateMaskOf, type CtState } from './conntrack.js';

/** `-m state --state` (the conntrack match's state alias; INVALID..UNTRACKED only). */
export interface StateMatch {
  readonly kind: 'state';
  readonly invert: boolean;
  readonly states: readonly CtState[];
}

/** The state module. */
export const state: MatchExtension<StateMatch> = {
  name: 'state',
  parser(at: Tok): ExtParser<StateMatch> {
    let v: { invert: boolean; states: CtState[] } | undefined;
    return {
      opts: { state: O1I },
      apply(_o, [t], invert) {
        v = {
          invert,
          states: nameList<CtState>(t!, CT_STATES, 'state', ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED']),
        };
      },
      finish() {
        if (v === undefined) throw new Fail(at.col, '-m state needs --state');
        return { kind: 'state', ...v };
      },
    };
  },
  print: (m) => ` -m state${inv(m.invert)} --state ${m.states.join(',')}`,
  evaluate: (m, ctx) => ((packetStateMask(ctx) & stateMaskOf(m.states)) !== 0) !== m.invert,
};
