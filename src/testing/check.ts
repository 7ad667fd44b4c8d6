/**
 * Run-time checks of what a suite passes to podnet/testing's main functions (scenarios,
 * arbitraries, checks, options), so a wrong type fails at the call with an ArgumentError naming
 * it, instead of as a confusing property failure.
 */
import {
  checkArray,
  checkOptBoolean,
  checkOptInteger,
  checkOptions,
  checkOptString,
  checkRecord,
  checkString,
  fail,
  isRecord,
} from '../api/check.js';
import { checkFlowSpec } from '../api/flow.js';

/** A scenario: `{ topology: Manifest[], flow: FlowSpec, seed }`. */
export function checkScenarioArg(v: unknown, argument: string): void {
  const sc = checkRecord(v, argument, 'a scenario ({ topology, flow, seed }; see scenarioArb)');
  checkArray(sc['topology'], `${argument}.topology`, 'an array of manifests').forEach((m, i) => {
    if (!isRecord(m)) fail(`${argument}.topology[${i}]`, 'a manifest object', m);
  });
  checkFlowSpec(sc['flow'], `${argument}.flow`);
  if (sc['seed'] === undefined) fail(`${argument}.seed`, 'an integer', undefined);
  checkOptInteger(sc['seed'], `${argument}.seed`);
}

/** A fast-check arbitrary (by its shape: the suite's fast-check may be another copy than podnet's). */
export function checkArbitrary(v: unknown, argument: string): void {
  if (!isRecord(v) || typeof v['generate'] !== 'function' || typeof v['shrink'] !== 'function')
    fail(argument, 'a fast-check arbitrary of scenarios (see scenarioArb)', v);
}

/** What to check: an invariant, an array of invariants, or a function of the flow and the run. */
export function checkCheck(v: unknown, argument: string): void {
  if (typeof v === 'function') return;
  checkArray(v, argument, 'an invariant, an array of invariants or a function (flow, run) => verdict').forEach(
    (f, i) => {
      if (typeof f !== 'function') fail(`${argument}[${i}]`, 'an invariant (a function of the flow)', f);
    },
  );
}

/** Options of runScenario, checkScenario, findCounterexample and assertScenarios. */
export function checkRunOptions(v: unknown, argument: string): void {
  const o = checkOptions(v, argument);
  const m = o['mutate'];
  if (m !== undefined && !(isRecord(m) && typeof m['name'] === 'string' && typeof m['apply'] === 'function'))
    fail(`${argument}.mutate`, 'a RuleMutation (see ruleMutation)', m);
  if (o['mutateNodes'] !== undefined)
    for (const [i, n] of checkArray(o['mutateNodes'], `${argument}.mutateNodes`).entries()) {
      checkString(n, `${argument}.mutateNodes[${i}]`);
    }
  checkOptBoolean(o['trace'], `${argument}.trace`);
  checkOptBoolean(o['capture'], `${argument}.capture`);
  checkOptInteger(o['numRuns'], `${argument}.numRuns`, 1);
  checkOptInteger(o['seed'], `${argument}.seed`);
  checkOptString(o['path'], `${argument}.path`);
  checkOptString(o['outDir'], `${argument}.outDir`);
  checkOptString(o['command'], `${argument}.command`);
  checkOptInteger(o['maxHopLines'], `${argument}.maxHopLines`, 0);
  if (o['parameters'] !== undefined) checkOptions(o['parameters'], `${argument}.parameters`);
}

/** Constraints of the arbitraries: counts and lists of allowed values. */
export function checkConstraints(
  v: unknown,
  argument: string,
  choices: Readonly<Record<string, readonly string[]>>,
): void {
  const c = checkOptions(v, argument);
  for (const k of ['maxNodes', 'maxPods', 'maxCount']) checkOptInteger(c[k], `${argument}.${k}`, 1);
  for (const [k, allowed] of Object.entries(choices)) {
    if (c[k] === undefined) continue;
    checkArray(c[k], `${argument}.${k}`).forEach((x, i) => {
      if (typeof x !== 'string' || !allowed.includes(x))
        fail(`${argument}.${k}[${i}]`, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, x);
    });
  }
}
