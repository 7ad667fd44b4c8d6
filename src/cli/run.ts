/** `podnet run`: run the topology's Scenario (simulate() with `flows: 'scenario'`) and summarise every probe. */
import type { CommandModule } from 'yargs';
import { simulate, type SimulationResult } from '../api/simulate.js';
import { FlowError } from '../api/errors.js';
import { HOP_HEADER, TextHopSink } from '../trace/format.js';
import { formatRunTable, probeErrors } from './report.js';
import { checkExpectation } from '../api/expect.js';
import { CaptureFiles, PointFilter } from '../trace/capture-sink.js';
import type { CaptureSink, HopSink } from '../events/tracer.js';
import { EXIT, UsageError, loadModel, out, parseSeed } from './common.js';
import { VALIDATE_OPTION, validateMode } from './common.js';
import { checkCaptureFilter, planOutputDir } from './outputs.js';
import { plannedLength, startProgress, wantsProgress } from './progress.js';

interface RunArgs {
  topology: string | undefined;
  seed: string | undefined;
  validate: string;
  json: boolean;
  trace: boolean;
  'pcap-dir': string | undefined;
  'pcap-split': string | undefined;
  'pcap-format': string | undefined;
  capture: string[] | undefined;
}

/** The run command definition. */
export function runCommand(setCode: (c: number) => void): CommandModule<object, RunArgs> {
  return {
    command: 'run [topology]',
    describe:
      "Run the topology's Scenario probes and summarise what each one got back (long runs show a progress bar on a terminal)",
    builder: (y) =>
      y
        .positional('topology', {
          type: 'string',
          describe: 'Topology file or folder (default: the built-in two-node cluster)',
        })
        .option('validate', VALIDATE_OPTION)
        .option('seed', { type: 'string', describe: 'RNG seed: an integer or "random" (default 1)' })
        .option('json', { type: 'boolean', default: false, describe: 'Print results as JSON (schema in the README)' })
        .option('trace', { type: 'boolean', default: false, describe: 'Also print every hop (text mode)' })
        .option('pcap-dir', { type: 'string', describe: 'Write captures into this folder (e.g. captures)' })
        .option('pcap-split', {
          type: 'string',
          choices: ['none', 'node'],
          describe: 'With --pcap-dir and pcapng: one file for the run (none, the default), or one per node',
        })
        .option('pcap-format', {
          type: 'string',
          choices: ['pcapng', 'pcap'],
          describe: 'With --pcap-dir: pcapng (the default), or classic pcap (one file per interface)',
        })
        .option('capture', {
          type: 'string',
          array: true,
          describe: 'With --pcap-dir: only capture these interfaces (globs like node1/*)',
        })
        .example('$0 run', 'Run the built-in scenario')
        .example(
          '$0 run topologies/mtu.yaml --pcap-dir captures',
          'Run the MTU cases and keep a pcapng of every interface',
        )
        .epilog(
          'Exit codes: 0 every expectation held (a probe without expect: is reported, not judged), 1 an expectation did not hold, 2 bad input (topology, flags), 70 internal error.',
        ),
    handler: (args) => {
      setCode(runRun(args));
    },
  };
}

/** Capture flags without --pcap-dir (or that pcap's one file per interface cannot follow) are errors. */
function checkCaptureFlags(args: RunArgs): void {
  if (args['pcap-dir'] === undefined) {
    for (const f of ['pcap-split', 'pcap-format', 'capture'] as const)
      if (args[f] !== undefined) throw new UsageError(`--${f} applies to captures: give --pcap-dir too`);
  }
  if (args['pcap-split'] === 'node' && args['pcap-format'] === 'pcap')
    throw new UsageError('--pcap-split node needs pcapng (--pcap-format pcap already writes one file per interface)');
}

function runRun(args: RunArgs): number {
  const seed = parseSeed(args.seed);
  checkCaptureFlags(args);
  const { model, name } = loadModel(args.topology, args.json, seed, validateMode(args.validate));
  if (model.scenario === undefined || model.scenario.probes.length === 0) {
    throw new UsageError(
      `${name} has no Scenario probes to run (add a podnet Scenario document, or use podnet trace --from --to)`,
    );
  }
  const hopSinks: HopSink[] = [];
  if (args.trace && !args.json) hopSinks.push(new TextHopSink(out));
  const captureSinks: CaptureSink[] = [];
  let files: CaptureFiles | undefined;
  if (args['pcap-dir'] !== undefined) {
    const fmt = args['pcap-format'] ?? 'pcapng';
    const base = `${model.scenario.name}-seed${seed}.${fmt}`;
    files = new CaptureFiles(
      planOutputDir('--pcap-dir', args['pcap-dir']),
      base,
      fmt === 'pcap' ? 'point' : args['pcap-split'] === 'node' ? 'node' : 'single',
      new PointFilter(args.capture ?? []),
      `podnet run ${name}, scenario ${model.scenario.name}, seed ${seed}`,
    );
    captureSinks.push(files);
  }
  try {
    const sc = model.scenario;
    let result: SimulationResult;
    try {
      result = simulate(model, {
        seed,
        flows: 'scenario',
        trace: false,
        hopSinks,
        captureSinks,
        onReady: ({ simulation }) => {
          if (files !== undefined) checkCaptureFilter(files);
          if (!args.json) {
            const size = `${model.nodes.length} nodes, ${model.pods.length} pods`;
            out(`podnet run: ${name} — ${size}, scenario "${sc.name}" (${sc.probes.length} probes), seed ${seed}`);
            for (const w of simulation.serverWarnings) out(`warning: ${w}`);
            if (args.trace) out(`\n${HOP_HEADER}`);
          }
          if (!wantsProgress(args)) return undefined;
          return startProgress(simulation.network.world.sched, plannedLength(sc), `podnet run ${sc.name}`);
        },
      });
    } catch (e) {
      if (e instanceof FlowError) throw new UsageError(e.message);
      throw e;
    }
    const reports = result.flows.map((f) => f.report);
    const sim = result.simulation;
    const written = files?.commit() ?? [];
    const checks = model.scenario.probes.map((p, i) =>
      p.expect === undefined ? undefined : checkExpectation(reports[i]!, p.expect),
    );
    const failed = checks.some((c) => c !== undefined && c.length > 0);
    if (args.json) {
      const probes = reports.map((r, i) =>
        checks[i] === undefined ? r : { ...r, expectation: { ok: checks[i]!.length === 0, failures: checks[i] } },
      );
      out(
        JSON.stringify(
          {
            schema: 'podnet.run/v1',
            topology: name,
            seed,
            scenario: model.scenario.name,
            probes,
            captures: written,
            warnings: sim.serverWarnings,
          },
          null,
          2,
        ),
      );
      return failed ? EXIT.failed : EXIT.ok;
    }
    out('');
    out(formatRunTable(reports, checks));
    const errs = reports.flatMap((r) => probeErrors(r).map((e) => `  ${r.name}: ${e}`));
    if (errs.length) {
      out('');
      out('errors:');
      for (const e of errs) out(e);
    }
    const fails = checks.flatMap((c, i) => (c ?? []).map((f) => `  ${reports[i]!.name}: ${f}`));
    if (fails.length) {
      out('');
      out('expectations that did not hold:');
      for (const f of fails) out(f);
    }
    for (const w of written) out(`capture written: ${w}`);
    return failed ? EXIT.failed : EXIT.ok;
  } catch (e) {
    files?.abort();
    throw e;
  }
}
