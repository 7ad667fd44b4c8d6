/** `-m nfacct --nfacct-name NAME` (libxt_nfacct, xt_nfacct): always matches, counting into a named object. */
import { Fail, O1, saveString, type ExtParser, type MatchExtension, type Tok } from '../extension.js';

/** `-m nfacct --nfacct-name NAME`: always matches, counts into a named accounting object. */
export interface NfacctMatch {
  readonly kind: 'nfacct';
  readonly name: string;
}

/** The nfacct module (the accounting objects are not modelled). */
export const nfacct: MatchExtension<NfacctMatch> = {
  name: 'nfacct',
  alwaysMatches: true,
  parser(at: Tok): ExtParser<NfacctMatch> {
    let name: string | undefined;
    return {
      opts: { 'nfacct-name': O1 },
      apply(_o, [t]) {
        if (t!.text.length === 0 || t!.text.length >= 32)
          throw new Fail(t!.col, `bad nfacct name "${t!.text}" (1..31 characters)`);
        name = t!.text;
      },
      finish() {
        if (name === undefined) throw new Fail(at.col, '-m nfacct needs --nfacct-name');
        return { kind: 'nfacct', name };
      },
    };
  },
  // libxt_nfacct prints "--nfacct-name " and then xtables_save_string adds its own space.
  print: (m) => ` -m nfacct --nfacct-name ${saveString(m.name)}`,
  evaluate: () => true,
};
