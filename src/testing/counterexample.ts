/**
 * Running properties over generated scenarios and reporting a failure so a person can act on
 * it: fast-check searches and shrinks; the shrunk scenario is written out as a topology YAML
 * (plus the mutated node's iptables-save dump when the run used mutated rules) together with the
 * exact `podnet trace` command that replays it, the explanation of the violated invariant, and
 * the hops of the failing flow.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topologyToYaml, manifestToYaml } from '../api/topology.js';
import type { Manifest } from '../api/topology.js';
import { formatDurationArg, shellQuote, traceArgs } from '../api/flow.js';
import type { ProbeModel } from '../kube/model.js';
import { nodeRules } from '../api/rules.js';
import type { FlowResult } from '../api/results.js';
import { formatHopLine, isRoutineHop } from '../trace/format.js';
import { AtomicFileSink } from '../trace/byte-sink.js';
import { runScenario } from './scenario.js';
import type { RunScenarioOptions, Scenario, ScenarioRun } from './scenario.js';
import { checkInvariants } from './invariants.js';
import type { Invariant, Verdict } from './invariants.js';
import { checkArbitrary, checkCheck, checkRunOptions, checkScenarioArg } from './check.js';

/**
 * What to check on a scenario's flow: one invariant, several (all must hold), or any function of the flow and the run.
 */
export type ScenarioCheck =
  | Invariant
  | readonly Invariant[]
  | ((flow: FlowResult, run: ScenarioRun) => Verdict | boolean);

/** Runs a scenario and checks it; an exception from podnet counts as a violation (with its message). */
export function checkScenario(
  sc: Scenario,
  check: ScenarioCheck,
  opts: RunScenarioOptions = {},
): { readonly verdict: Verdict; readonly run: ScenarioRun | undefined } {
  // checked here, outside the try: a wrong argument is the suite's mistake, not a violation
  checkScenarioArg(sc, 'scenario');
  checkCheck(check, 'check');
  checkRunOptions(opts, 'opts');
  let run: ScenarioRun | undefined;
  try {
    run = runScenario(sc, opts);
    const v = Array.isArray(check)
      ? checkInvariants(run.flow, check as readonly Invariant[])
      : (check as (f: FlowResult, r: ScenarioRun) => Verdict | boolean)(run.flow, run);
    const verdict: Verdict =
      typeof v === 'boolean' ? (v ? { ok: true } : { ok: false, explanation: 'the check returned false' }) : v;
    return { verdict, run };
  } catch (e) {
    return {
      verdict: {
        ok: false,
        explanation: `podnet threw while running the scenario: ${e instanceof Error ? e.message : String(e)}`,
      },
      run,
    };
  }
}

/** Options of {@link findCounterexample} and {@link assertScenarios}. */
export interface PropertyOptions extends RunScenarioOptions {
  /** Scenarios to try (default 100). */
  readonly numRuns?: number;
  /** fast-check's seed (default: fast-check draws one and reports it). */
  readonly seed?: number;
  /** fast-check's replay path (with `seed`, re-runs a reported failure directly). */
  readonly path?: string;
  /**
   * Where to write the counterexample's files (default: a folder under the OS temp directory named
   * by their hash); made one level at a time if missing, so a folder that cannot exist is an error.
   */
  readonly outDir?: string;
  /** How the replay command starts (default `npx podnet`). */
  readonly command?: string;
  /** At most this many hop lines in the report (default 150). */
  readonly maxHopLines?: number;
  /** Other fast-check parameters (timeouts, verbosity, examples, …). */
  readonly parameters?: Omit<fc.Parameters<[Scenario]>, 'numRuns' | 'seed' | 'path'>;
}

/** A failing scenario, written out and ready to replay. */
export interface Counterexample {
  readonly scenario: Scenario;
  /** Why it fails (the violated invariant's explanation). */
  readonly explanation: string;
  /** The run the report describes (the one the command replays); undefined when podnet threw before finishing. */
  readonly run: ScenarioRun | undefined;
  /** The node whose rules were replaced, and the dump, when the run used mutated rules. */
  readonly rules: { readonly node: string; readonly path: string; readonly dump: string } | undefined;
  /** The topology file (YAML: the scenario's manifests plus a Scenario with its flow). */
  readonly topologyPath: string;
  readonly topologyYaml: string;
  /** The arguments after `podnet` that replay it (`trace <file> --seed … --from … --to …`). */
  readonly args: readonly string[];
  /** The replay command as a shell line. */
  readonly command: string;
  /** Set when the command cannot reproduce the run exactly (rules of more than one node differ). */
  readonly replayNote: string | undefined;
  /** fast-check's account of the search, when it came from one. */
  readonly search:
    | {
        readonly numRuns: number;
        readonly numShrinks: number;
        readonly seed: number;
        readonly path: string | undefined;
      }
    | undefined;
  /** The whole report, as {@link assertScenarios} throws it. */
  readonly report: string;
}

/** Thrown by {@link assertScenarios}; the message is the counterexample's report. */
export class CounterexampleError extends Error {
  override readonly name = 'CounterexampleError';
  constructor(readonly counterexample: Counterexample) {
    super(counterexample.report);
  }
}

/**
 * Runs fast-check over scenarios and returns the shrunk counterexample (written out, with its
 * replay command), or undefined when every scenario passed.
 */
export function findCounterexample(
  arb: fc.Arbitrary<Scenario>,
  check: ScenarioCheck,
  opts: PropertyOptions = {},
): Counterexample | undefined {
  checkArbitrary(arb, 'arb');
  checkCheck(check, 'check');
  checkRunOptions(opts, 'opts');
  const params: fc.Parameters<[Scenario]> = {
    ...opts.parameters,
    numRuns: opts.numRuns ?? 100,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.path !== undefined ? { path: opts.path } : {}),
  };
  const details = fc.check(
    fc.property(arb, (sc) => checkScenario(sc, check, opts).verdict.ok),
    params,
  );
  if (!details.failed || details.counterexample === null) return undefined;
  const sc = details.counterexample[0];
  return counterexampleFor(sc, check, opts, {
    numRuns: details.numRuns,
    numShrinks: details.numShrinks,
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
  });
}

/**
 * Like {@link findCounterexample}, but throws a {@link CounterexampleError} carrying the report when a scenario fails.
 */
export function assertScenarios(arb: fc.Arbitrary<Scenario>, check: ScenarioCheck, opts: PropertyOptions = {}): void {
  const cx = findCounterexample(arb, check, opts);
  if (cx !== undefined) throw new CounterexampleError(cx);
}

/**
 * The counterexample for one failing scenario (undefined if it passes): when the run used rules
 * mutated on several nodes, the mutation is narrowed to the one node that still reproduces the
 * failure, so `podnet trace --iptables-save <dump> --node <node>` replays it exactly.
 */
export function counterexampleFor(
  sc: Scenario,
  check: ScenarioCheck,
  opts: PropertyOptions = {},
  search?: Counterexample['search'],
): Counterexample | undefined {
  let { verdict, run } = checkScenario(sc, check, opts);
  if (verdict.ok) return undefined;
  let replayNote: string | undefined;
  const mutated = Object.keys(run?.rules ?? {});
  if (mutated.length > 1 && opts.mutate !== undefined) {
    let narrowed = false;
    for (const node of mutated) {
      const r = checkScenario(sc, check, { ...opts, mutateNodes: [node] });
      if (!r.verdict.ok && r.run !== undefined) {
        ({ verdict, run } = r);
        narrowed = true;
        break;
      }
    }
    if (!narrowed)
      replayNote = `the failure needs the mutated rules of ${mutated.length} nodes (${mutated.join(', ')}); podnet trace replaces one node's rules, so the command runs with ${mutated[0]}'s only`;
  }
  const explanation = (verdict as Extract<Verdict, { ok: false }>).explanation;
  const flow = run?.flow.probe;
  const topologyYaml =
    flow === undefined
      ? topologyToYaml(sc.topology)
      : `${topologyToYaml(sc.topology)}---\n${manifestToYaml(scenarioManifest(flow))}`;
  const ruleNode = Object.keys(run?.rules ?? {})[0];
  const dump = ruleNode === undefined ? undefined : run!.rules[ruleNode]!;
  const hash = createHash('sha256')
    .update(topologyYaml)
    .update(`\u0000${sc.seed}\u0000${JSON.stringify(sc.flow)}\u0000${dump ?? ''}`)
    .digest('hex')
    .slice(0, 12);
  const dir = opts.outDir ?? join(tmpdir(), 'podnet-counterexamples', hash);
  const topologyPath = writeAtomically(dir, 'topology.yaml', topologyYaml);
  const rules =
    ruleNode === undefined || dump === undefined
      ? undefined
      : { node: ruleNode, path: writeAtomically(dir, `${ruleNode}.rules`, dump), dump };
  const args = [
    'trace',
    topologyPath,
    '--seed',
    String(sc.seed),
    ...(flow === undefined ? [] : traceArgs(flow)),
    ...(rules === undefined ? [] : ['--iptables-save', rules.path, '--node', rules.node]),
  ];
  const command = `${opts.command ?? 'npx podnet'} ${args.map(shellQuote).join(' ')}`;
  const cx: Omit<Counterexample, 'report'> = {
    scenario: sc,
    explanation,
    run,
    rules,
    topologyPath,
    topologyYaml,
    args,
    command,
    replayNote,
    search,
  };
  return { ...cx, report: formatCounterexample(cx, opts.maxHopLines ?? 150) };
}

/** The Scenario document that makes `podnet run <topology>` run the flow too. */
function scenarioManifest(f: ProbeModel): Manifest {
  const probe: Record<string, unknown> = { name: 'counterexample', from: f.from, to: f.to, protocol: f.protocol };
  const portInTo = /:(\d+)$/.exec(f.to);
  if (f.port !== undefined && !(portInTo && Number(portInTo[1]) === f.port)) probe.port = f.port;
  if (f.sourcePort !== undefined) probe.sourcePort = f.sourcePort;
  probe.count = f.count;
  if (f.protocol !== 'tcp') probe.size = f.size;
  if (f.pmtudisc !== 'want') probe.pmtudisc = f.pmtudisc;
  if (f.count > 1) probe.interval = formatDurationArg(f.interval);
  probe.timeout = formatDurationArg(f.timeout);
  return {
    apiVersion: 'podnet.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name: 'counterexample' },
    spec: { probes: [probe] },
  };
}

function writeAtomically(dir: string, name: string, text: string): string {
  const sink = AtomicFileSink.open(dir, name);
  try {
    sink.write(new TextEncoder().encode(text));
    return sink.commit();
  } catch (e) {
    sink.abort();
    throw e;
  }
}

function indent(text: string, by = '  '): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}

/** Lines removed from and added to a node's generated rules, in dump order. */
function rulesDiff(generated: string, mutated: string): string[] {
  const before = new Set(generated.split('\n'));
  const after = new Set(mutated.split('\n'));
  return [
    ...generated
      .split('\n')
      .filter((l) => !after.has(l))
      .map((l) => `- ${l}`),
    ...mutated
      .split('\n')
      .filter((l) => !before.has(l))
      .map((l) => `+ ${l}`),
  ];
}

/** The report of a counterexample (what {@link CounterexampleError} carries as its message). */
export function formatCounterexample(cx: Omit<Counterexample, 'report'>, maxHopLines = 150): string {
  const out: string[] = [];
  const s = cx.search;
  out.push(
    s === undefined
      ? 'podnet: a scenario violates the property'
      : `podnet: property failed after ${s.numRuns} scenario${s.numRuns === 1 ? '' : 's'}, shrunk ${s.numShrinks} time${s.numShrinks === 1 ? '' : 's'} (fast-check seed ${s.seed}${s.path !== undefined ? `, path "${s.path}"` : ''})`,
  );
  out.push('');
  out.push(`✗ ${cx.explanation}`);
  out.push('');
  const mutation = cx.run?.mutation;
  out.push(
    `Replay (topology seed ${cx.scenario.seed}${cx.rules !== undefined && mutation !== undefined ? `; ${cx.rules.node} runs mutated rules: ${mutation.name}` : ''}):`,
  );
  out.push(`  ${cx.command}`);
  if (cx.replayNote !== undefined) out.push(`  (note: ${cx.replayNote})`);
  out.push('');
  out.push(`Topology (${cx.topologyPath}):`);
  out.push(indent(cx.topologyYaml));
  if (cx.rules !== undefined && cx.run !== undefined) {
    out.push('');
    out.push(`Rules of ${cx.rules.node} (${cx.rules.path}), against podnet rules --node ${cx.rules.node}:`);
    out.push(indent(rulesDiff(nodeRules(cx.run.model, cx.rules.node), cx.rules.dump).join('\n')));
  }
  const flow = cx.run?.flow;
  if (flow !== undefined) {
    const hops = flow.hops.filter((h) => !isRoutineHop(h));
    out.push('');
    out.push(
      `Hops of the failing flow (${hops.length}${hops.length > maxHopLines ? `, the first ${maxHopLines}` : ''}; the command also shows ARP and the routine ones):`,
    );
    for (const h of hops.slice(0, maxHopLines)) out.push(`  ${formatHopLine(h)}`);
    out.push('');
    out.push('Result:');
    for (const a of flow.attempts) {
      const what = a.ok
        ? `answered by ${a.backend?.name ?? '?'}${a.serverSaw ? `, which saw ${a.serverSaw.ip}:${a.serverSaw.port}` : ''}`
        : (a.error ?? 'no reply');
      out.push(`  #${a.index + 1}${a.sourcePort !== undefined ? ` (source port ${a.sourcePort})` : ''}: ${what}`);
    }
  }
  return out.join('\n');
}
