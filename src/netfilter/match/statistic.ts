/** `-m statistic` (libxt_statistic, xt_statistic): random with the kernel's stored 31-bit probability, or every nth. */
import {
  Fail,
  O1,
  O1I,
  inv,
  num,
  type ExtParser,
  type MatchExtension,
  type PerNetKey,
  type Tok,
} from '../extension.js';
import type { Rule } from '../rules.js';

/** `-m statistic --mode random --probability P`. */
export interface StatisticRandomMatch {
  readonly kind: 'statistic';
  readonly mode: 'random';
  readonly invert: boolean;
  /** The kernel's stored value, lround(P × 2^31); matches when (prandom_u32() & 0x7fffffff) < stored. */
  readonly probability: number;
  /**
   * The probability as written in the input when it differs from the canonical `%.11f` text
   * (e.g. kube-proxy's `0.3333333333`).
   */
  readonly written?: string;
}

/** `-m statistic --mode nth --every N --packet P`. */
export interface StatisticNthMatch {
  readonly kind: 'statistic';
  readonly mode: 'nth';
  readonly invert: boolean;
  readonly every: number;
  readonly packet: number;
}

/** `-m statistic`. */
export type StatisticMatch = StatisticRandomMatch | StatisticNthMatch;

/**
 * The statistic match's probability as iptables-save prints it: `%.11f` of stored / 2^31,
 * computed exactly (round half to even, like glibc's printf) rather than with toFixed.
 */
export function formatProbability(stored: number): string {
  const q = BigInt(stored) * 100_000_000_000n;
  const div = 2_147_483_648n;
  let n = q / div;
  const rem2 = 2n * (q % div);
  if (rem2 > div || (rem2 === div && n % 2n === 1n)) n += 1n;
  const s = n.toString().padStart(12, '0');
  return `${s.slice(0, -11)}.${s.slice(-11)}`;
}

/** The value iptables stores for `--probability p`: lround(p × 2^31). */
export function probabilityToStored(p: number): number {
  return Math.round(p * 2_147_483_648);
}

const PROB_RE = /^\+?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/;

/** Each nth rule's packet counter, per netns (the kernel keeps it in the rule's per-net copy). */
const NTH_COUNTERS: PerNetKey<Map<Rule, number>> = { name: 'statistic nth', create: () => new Map() };

/** The statistic module. */
export const statistic: MatchExtension<StatisticMatch> = {
  name: 'statistic',
  parser(at: Tok): ExtParser<StatisticMatch> {
    let mode: 'random' | 'nth' | undefined;
    let prob: { stored: number; text: string } | undefined;
    let every: number | undefined;
    let packet: number | undefined;
    let invert = false;
    return {
      opts: { mode: O1, probability: O1I, every: O1I, packet: O1 },
      apply(o, [t], inverted) {
        if (inverted) invert = true;
        switch (o) {
          case 'mode':
            if (t!.text !== 'random' && t!.text !== 'nth')
              throw new Fail(t!.col, `bad statistic mode "${t!.text}" (random or nth)`);
            mode = t!.text;
            break;
          case 'probability': {
            const p = PROB_RE.test(t!.text) ? Number(t!.text) : Number.NaN;
            if (!(p >= 0 && p <= 1)) throw new Fail(t!.col, `bad probability "${t!.text}" (a number 0..1)`);
            prob = { stored: probabilityToStored(p), text: t!.text };
            break;
          }
          case 'every':
            every = num(t!, 0xffff_ffff, '--every value', 1);
            break;
          case 'packet':
            packet = num(t!, 0xffff_ffff, '--packet value');
            break;
        }
      },
      finish() {
        if (mode === undefined) throw new Fail(at.col, '-m statistic needs --mode');
        if (mode === 'random') {
          if (prob === undefined) throw new Fail(at.col, '--probability must be specified when using random mode');
          if (every !== undefined || packet !== undefined) throw new Fail(at.col, '--every/--packet need --mode nth');
          const canonical = formatProbability(prob.stored);
          return prob.text === canonical
            ? { kind: 'statistic', mode, invert, probability: prob.stored }
            : { kind: 'statistic', mode, invert, probability: prob.stored, written: prob.text };
        }
        if (prob !== undefined) throw new Fail(at.col, '--probability needs --mode random');
        if (every === undefined) throw new Fail(at.col, '--every and --packet must be specified when using nth mode');
        const pk = packet ?? 0;
        if (pk > every - 1) throw new Fail(at.col, 'the --packet p must be 0 <= p <= n-1');
        return { kind: 'statistic', mode, invert, every, packet: pk };
      },
    };
  },
  print(m) {
    if (m.mode === 'random')
      return ` -m statistic --mode random${inv(m.invert)} --probability ${formatProbability(m.probability)}`;
    return ` -m statistic --mode nth${inv(m.invert)} --every ${m.every} --packet ${m.packet}`;
  },
  evaluate(m, ctx, site) {
    if (m.mode === 'random') {
      if (ctx.dry !== null) return ctx.dry.decide(m.probability) !== m.invert;
      const nf = ctx.state.nf;
      const forced = nf.statisticDecider?.(site.chain, site.index, m.probability, ctx.pkt);
      // xt_statistic: (get_random_u32() & 0x7fffffff) < stored probability
      const hit = forced ?? (nf.rng.nextU32() & 0x7fffffff) < m.probability;
      return hit !== m.invert;
    }
    if (ctx.dry !== null) return ctx.dry.decide(Math.round(0x80000000 / m.every)) !== m.invert;
    const counters = ctx.state.nf.perNet(NTH_COUNTERS);
    const n = counters.get(site.rule) ?? 0;
    counters.set(site.rule, (n + 1) % m.every);
    return (n === m.packet) !== m.invert;
  },
};
