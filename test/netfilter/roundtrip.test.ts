/** format → parse → same ruleset → format → same text, and the real tool agrees with the text. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIptablesSave, formatParseError, parseIptablesSave } from '../../src/netfilter/iptables-save.js';
import { rulesetArb } from './arb.js';
import { withoutSources } from './compare.js';
import { REQUIRE_TOOLS, iptablesRestoreTest, iptablesRestoreUnavailable } from './tools.js';

describe('iptables-save round trip', () => {
  it('format → parse gives the same ruleset, and formatting it again gives the same text', () => {
    fc.assert(
      fc.property(rulesetArb, (rs) => {
        const text = formatIptablesSave(rs);
        const r = parseIptablesSave(text, 'gen.rules');
        if ('errors' in r) throw new Error(`${r.errors.map(formatParseError).join('\n')}\n${text}`);
        expect(withoutSources(r.ruleset)).toEqual(withoutSources(rs));
        expect(formatIptablesSave(r.ruleset)).toBe(text);
      }),
      { numRuns: 400 },
    );
  });

  it('iptables-restore --test accepts the printed text of generated rulesets', (ctx) => {
    const why = iptablesRestoreUnavailable();
    if (why !== undefined) {
      if (REQUIRE_TOOLS) throw new Error(why);
      ctx.skip(why);
    }
    fc.assert(
      fc.property(rulesetArb, (rs) => {
        const text = formatIptablesSave(rs);
        const r = iptablesRestoreTest(text);
        if (!r.ok) throw new Error(`${r.stderr}\n${text}`);
      }),
      { numRuns: 60 },
    );
  });
});
