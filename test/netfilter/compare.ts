/** Structural comparison helpers for rulesets. */
import { TABLE_ORDER, flattenRuleset, type Ruleset, type Table } from '../../src/netfilter/rules.js';

/** The ruleset flattened and without parse positions (rule.source), for structural comparison. */
export function withoutSources(rs: Ruleset): Ruleset {
  const flat = flattenRuleset(rs);
  const tables: { [k: string]: Table } = {};
  for (const t of TABLE_ORDER) {
    const tb = flat.tables[t];
    if (tb === undefined) continue;
    const chains = new Map(
      [...tb.chains].map(([n, c]) => [
        n,
        { ...c, rules: c.rules.map((r) => ({ matches: r.matches, target: r.target })) },
      ]),
    );
    tables[t] = { name: t, chains, shared: undefined };
  }
  return { tables };
}
