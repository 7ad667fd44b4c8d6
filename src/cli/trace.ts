/** `podnet trace`: one flow, every hop. The flags become a FlowSpec for the library's simulate(). */
import type { CommandModule } from 'yargs';
import { simulate, type SimulationResult } from '../api/simulate.js';
import { FlowError } from '../api/errors.js';
import type { FlowSpec } from '../api/flow.js';
import type { NatChoice } from '../api/results.js';
import { defaultFlowName, formatDurationArg } from '../api/flow.js';
import type { ProbeProtocol } from '../kube/model.js';
import { MAX_DURATION, MAX_DURATION_TEXT, parseDuration, type Nanos } from '../sim/time.js';
import type { ClusterModel } from '../kube/model.js';
import { HOP_HEADER, HOP_SCHEMA, JsonHopSink, TextHopSink } from '../trace/format.js';
import { ruleText } from '../trace/hop-text.js';
import { formatProbeOutcome } from './report.js';
import { CaptureFiles, PointFilter } from '../trace/capture-sink.js';
import type { HopSink, CaptureSink } from '../events/tracer.js';
import { EXIT, UsageError, loadModel, out, parseSeed } from './common.js';
import { readInputText } from '../kube/load/index.js';
import { VALIDATE_OPTION, validateMode } from './common.js';
import { checkCaptureFilter, planOutputFile } from './outputs.js';
import { formatParseError, parseIptablesSave } from '../netfilter/iptables-save.js';
import type { Ruleset } from '../netfilter/rules.js';
import type { Resolution } from '../apps/resolver.js';
import { fqdn } from '../wire/dns.js';

/** What the resolver did, for the summary under a trace. */
export function formatResolution(r: Resolution): string[] {
  const head =
    r.source === 'hosts'
      ? `resolved "${r.name}" from /etc/hosts: ${r.addresses.join(', ')}`
      : r.error !== undefined
        ? `could not resolve "${r.name}": ${r.error}`
        : `resolved "${r.name}" → ${r.addresses.join(', ')}`;
  const lines = [
    `${head} (${r.queries.length} ${r.queries.length === 1 ? 'query' : 'queries'}, ${(r.durationNs / 1e6).toFixed(3)} ms)`,
  ];
  for (const q of r.queries) {
    const answers =
      q.answers !== undefined && q.answers.length > 0
        ? ` ${q.answers.join(', ')}`
        : q.rcode === 'NOERROR'
          ? ' (no answer)'
          : '';
    const outcome =
      q.rcode !== undefined ? `${q.rcode}${answers}${q.tc === true ? ' [TC]' : ''}` : (q.error ?? 'no answer');
    const name = fqdn(q.name).padEnd(46);
    lines.push(
      `  ${q.type.padEnd(4)} ${name} ${q.proto} :${q.sourcePort} → ${q.server}  ${outcome}${q.answeredBy !== undefined ? `  (${q.answeredBy})` : ''}`,
    );
  }
  return lines;
}

interface TraceArgs {
  topology: string | undefined;
  from: string | undefined;
  to: string | undefined;
  protocol: string | undefined;
  port: number | undefined;
  sport: number | undefined;
  count: number | undefined;
  size: number | undefined;
  df: boolean | undefined;
  pmtudisc: string | undefined;
  interval: string | undefined;
  timeout: string | undefined;
  probe: string | undefined;
  seed: string | undefined;
  validate: string;
  json: boolean;
  pcap: string | undefined;
  'pcap-format': string | undefined;
  capture: string[] | undefined;
  'all-paths': boolean;
  verbose: boolean;
  'iptables-save': string | undefined;
  node: string | undefined;
}

const TRACE_EPILOG = [
  'Durations take a unit: ns, us (µs), ms, s, m, h (200ms, 1.5s, 2m, 1h30m); a bare number is refused.',
  'Exit codes (as ping and curl): 0 something answered, 1 nothing answered (refused, timed out, dropped, unresolved), 2 bad input (topology, flags), 70 internal error.',
].join('\n');

/** The trace command definition. */
export function traceCommand(setCode: (c: number) => void): CommandModule<object, TraceArgs> {
  return {
    command: 'trace [topology]',
    describe: 'Trace one flow hop by hop (ARP, bridge, routing, VXLAN, delivery)',
    builder: (y) =>
      y
        .positional('topology', {
          type: 'string',
          describe: 'Topology file or folder (default: the built-in two-node cluster)',
        })
        .option('from', {
          type: 'string',
          describe: 'Source: a pod name, <namespace>/<pod>, node/<name> or ext/<name>',
        })
        .option('to', {
          type: 'string',
          describe:
            'Destination: <ip>[:port], pod/<name>[:port], node/<name>, ext/<name>, or a DNS name (web, web.shop:80), resolved from the source first',
        })
        .option('protocol', {
          alias: 'p',
          type: 'string',
          choices: ['icmp', 'tcp', 'udp'],
          describe: 'Protocol (default: tcp when a port is given, else icmp)',
        })
        .option('port', { type: 'number', describe: 'Destination port (or write it in --to as ip:port)' })
        .option('sport', { type: 'number', describe: 'Pin the client source port (tcp/udp)' })
        .option('count', {
          alias: 'c',
          type: 'number',
          describe: "Echo requests / connections / datagrams to send, 1–100000 (default 1, or the probe's)",
        })
        .option('size', {
          alias: 's',
          type: 'number',
          describe: 'Payload bytes (ping -s; UDP datagram size). Default 56 for icmp, 6 for udp',
        })
        .option('df', {
          type: 'boolean',
          describe: "Set don't-fragment and refuse oversize sends (ping -M do); --no-df clears DF (ping -M dont)",
        })
        .option('pmtudisc', {
          type: 'string',
          choices: ['do', 'want', 'dont'],
          describe: 'PMTU discovery mode (default want, as Linux)',
        })
        .option('interval', {
          type: 'string',
          describe: "Time between attempts: a number with a unit, ns us ms s m h (default 1s, or the probe's)",
        })
        .option('timeout', {
          type: 'string',
          describe: "How long to wait for each reply / connection, e.g. 500ms or 2s (default 2s, or the probe's)",
        })
        .option('probe', {
          type: 'string',
          describe: "Trace this Scenario probe (by name) instead of --from/--to; other flags override the probe's",
        })
        .option('validate', VALIDATE_OPTION)
        .option('seed', {
          type: 'string',
          describe: 'RNG seed: an integer or "random" (default 1); same seed, same bytes',
        })
        .option('json', { type: 'boolean', default: false, describe: 'Print the trace as JSON (schema in the README)' })
        .option('pcap', {
          type: 'string',
          describe: 'Write a capture: a bare name goes to captures/, a path is used as given',
        })
        .option('pcap-format', {
          type: 'string',
          choices: ['pcapng', 'pcap'],
          describe:
            'With --pcap: pcapng (all interfaces, comments; the default) or classic pcap (one file per interface)',
        })
        .option('capture', {
          type: 'string',
          array: true,
          describe: 'With --pcap: only capture these interfaces (globs like node1/* or pod:client/eth0)',
        })
        .option('verbose', {
          alias: 'v',
          type: 'boolean',
          default: false,
          describe: 'Also print routine events (chains that ended in an ACCEPT policy, conntrack bookkeeping)',
        })
        .option('all-paths', {
          type: 'boolean',
          default: false,
          describe: 'List every backend the nat chains can pick for this flow, with its exact probability',
        })
        .option('iptables-save', {
          type: 'string',
          describe: "Use this iptables-save dump (from a real node) instead of the node's generated rules",
        })
        .option('node', {
          type: 'string',
          describe: 'With --iptables-save: the node whose rules it replaces (default: the only node)',
        })
        .example('$0 trace', "Trace the built-in topology's first probe")
        .example('$0 trace --probe tcp-cross-node --count 3', 'Trace one Scenario probe by name, three times')
        .example('$0 trace --from client --to pod/web-1:8080', 'A TCP connection across nodes through VXLAN')
        .example(
          '$0 trace topologies/mtu.yaml --from client --to pod/web-1 --size 1472 --df',
          'See why a DF ping fails with mtu=1450',
        )
        .example(
          '$0 trace --from client --to 10.244.1.2 --pcap cross-node.pcapng',
          'Also write captures/cross-node.pcapng for Wireshark',
        )
        .example(
          '$0 trace topologies/dns.yaml --from client --to web.shop:80',
          'DNS first (queries DNATed to a CoreDNS pod), then the connection',
        )
        .example(
          '$0 trace topologies/services.yaml --from client --to 10.96.0.100:80 --all-paths',
          'Every backend of a Service and its probability',
        )
        .example(
          '$0 trace my.yaml --from client --to 10.96.0.10:53 -p udp --iptables-save node1.txt --node node1',
          "Trace through a real node's rules",
        )
        .epilog(TRACE_EPILOG),
    handler: (args) => {
      setCode(runTrace(args));
    },
  };
}

/** A nat choice as `podnet trace --json` prints it under `allPaths`. */
function allPathsJson(a: NatChoice): unknown {
  return { node: a.node, hook: a.hook, flow: a.packet, paths: a.paths.map((p) => ({ ...p, nat: p.nat ?? null })) };
}

/** A duration flag: undefined when not given; UsageError naming the flag and the units when malformed. */
function durationFlag(flag: string, v: string | undefined, positive = false): Nanos | undefined {
  if (v === undefined) return undefined;
  const d = parseDuration(v);
  if (!d.ok) throw new UsageError(`--${flag}: ${d.error}`);
  if (positive && d.ns === 0) throw new UsageError(`--${flag}: expected a positive duration such as 2s, got "${v}"`);
  return d.ns;
}

function intFlag(flag: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max))
    throw new UsageError(`--${flag}: expected an integer ${min}–${max}, got ${Number.isNaN(v) ? 'not a number' : v}`);
  return v;
}

/** The flow the flags describe: --from/--to, or a Scenario probe (--probe, else the first) with the flags applied. */
function flowOf(args: TraceArgs, model: ClusterModel): FlowSpec {
  const interval = durationFlag('interval', args.interval);
  const timeout = durationFlag('timeout', args.timeout, true);
  const count = intFlag('count', args.count, 1, 100000);
  const size = intFlag('size', args.size, 0, 65507);
  const sport = intFlag('sport', args.sport, 1, 65535);
  const port = intFlag('port', args.port, 1, 65535);
  if (args.df !== undefined && args.pmtudisc !== undefined)
    throw new UsageError(
      'give either --df or --pmtudisc, not both (--df is --pmtudisc do, --no-df is --pmtudisc dont)',
    );
  const pmtudisc = (args.pmtudisc ?? (args.df === true ? 'do' : args.df === false ? 'dont' : undefined)) as
    | FlowSpec['pmtudisc']
    | undefined;
  const protocol = args.protocol as ProbeProtocol | undefined;
  const tuning = {
    ...(count !== undefined ? { count } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(sport !== undefined ? { sourcePort: sport } : {}),
    ...(pmtudisc !== undefined ? { pmtudisc } : {}),
    ...(interval !== undefined ? { interval } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
  };
  if (args.from !== undefined || args.to !== undefined) {
    if (args.probe !== undefined)
      throw new UsageError('give either --probe (a Scenario probe) or --from and --to, not both');
    if (args.from === undefined || args.to === undefined)
      throw new UsageError('give both --from and --to (or neither, to trace a Scenario probe: --probe NAME)');
    return checkProtocolFlags(args, { from: args.from, to: args.to, protocol, port, ...tuning });
  }
  return checkProtocolFlags(args, fromProbe(args, model, protocol, port, tuning));
}

/** Flags the flow's protocol has no use for are errors, as the loader refuses them in a probe. */
function checkProtocolFlags(args: TraceArgs, f: FlowSpec): FlowSpec {
  const portInTo = typeof f.to === 'string' && /:\d+$/.test(f.to);
  const protocol = f.protocol ?? (f.port !== undefined || portInTo ? 'tcp' : 'icmp');
  if (protocol === 'icmp' && args.port !== undefined)
    throw new UsageError('--port: ICMP has no ports (use --protocol tcp or udp)');
  if (protocol === 'icmp' && args.sport !== undefined)
    throw new UsageError('--sport: ICMP has no ports (use --protocol tcp or udp)');
  if (protocol !== 'icmp' && f.port === undefined && !portInTo)
    throw new UsageError(`--protocol ${protocol} needs a port: --port N or --to <ip>:<port>`);
  if (protocol === 'tcp' && args.size !== undefined)
    throw new UsageError("--size applies to icmp and udp (podnet's TCP servers send one line on accept and close)");
  return f;
}

function fromProbe(
  args: TraceArgs,
  model: ClusterModel,
  protocol: ProbeProtocol | undefined,
  port: number | undefined,
  tuning: Partial<FlowSpec>,
): FlowSpec {
  const probes = model.scenario?.probes ?? [];
  if (probes.length === 0)
    throw new UsageError('nothing to trace: give --from and --to (the topology has no Scenario probes)');
  const probe = args.probe === undefined ? probes[0]! : probes.find((p) => p.name === args.probe);
  if (probe === undefined)
    throw new UsageError(`--probe: no probe named "${args.probe}" (probes: ${probes.map((p) => p.name).join(', ')})`);
  // the flags override the probe's own fields; a new protocol takes that protocol's default size
  const { expect: _expect, source: _source, ...fields } = probe;
  const base: FlowSpec =
    protocol !== undefined && protocol !== probe.protocol ? { ...fields, size: undefined } : fields;
  // --port replaces a port written in the probe's destination (pod/web:8080)
  const to = port !== undefined && typeof base.to === 'string' ? base.to.replace(/:\d+$/, '') : base.to;
  return {
    ...base,
    to,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(port !== undefined ? { port } : {}),
    ...tuning,
  };
}

function runTrace(args: TraceArgs): number {
  const seed = parseSeed(args.seed);
  if (args.pcap === undefined && args['pcap-format'] !== undefined)
    throw new UsageError('--pcap-format applies to a capture: give --pcap too');
  if (args.pcap === undefined && args.capture !== undefined)
    throw new UsageError('--capture chooses what --pcap captures: give --pcap too');
  if (args.node !== undefined && args['iptables-save'] === undefined)
    throw new UsageError('--node names the node whose rules --iptables-save replaces: give --iptables-save too');
  const { model, name } = loadModel(args.topology, args.json, seed, validateMode(args.validate));
  const flow = flowOf(args, model);
  const flowEnd = schedulePastLimit(flow);
  if (flowEnd !== undefined) throw new UsageError(flowEnd);

  const hopSinks: HopSink[] = [];
  const json = new JsonHopSink();
  if (args.json) hopSinks.push(json);
  else hopSinks.push(new TextHopSink(out, undefined, args.verbose));
  const captureSinks: CaptureSink[] = [];
  let files: CaptureFiles | undefined;
  if (args.pcap !== undefined) {
    const fmt = args['pcap-format'] ?? 'pcapng';
    const fileArg = args.pcap === '' ? `trace-seed${seed}.${fmt}` : args.pcap;
    const { dir, name: fileName } = planOutputFile('--pcap', fileArg);
    // the capture sink exists before the network is built, so it names the probe as the library will
    const probeName =
      flow.name ??
      defaultFlowName(flow.protocol ?? (flow.port !== undefined ? 'tcp' : 'icmp'), flow.from, flow.to as string);
    const comment = `podnet trace ${probeName}, seed ${seed}`;
    const split = fmt === 'pcap' ? 'point' : 'single';
    files = new CaptureFiles(dir, fileName, split, new PointFilter(args.capture ?? []), comment);
    captureSinks.push(files);
  }
  let dump: Ruleset | undefined;
  if (args['iptables-save'] !== undefined) {
    const file = args['iptables-save'];
    let text: string;
    try {
      // a device or pipe (/dev/zero) is read up to the input limit, not until memory runs out
      text = readInputText(file);
    } catch (e) {
      throw new UsageError(`--iptables-save: cannot read ${file}: ${(e as Error).message}`);
    }
    const parsed = parseIptablesSave(text, file);
    if ('errors' in parsed)
      throw new UsageError(
        `${parsed.errors.length} error${parsed.errors.length === 1 ? '' : 's'} in ${file}`,
        parsed.errors.map(formatParseError),
      );
    dump = parsed.ruleset;
    if (args.node === undefined && model.nodes.length > 1)
      throw new UsageError(`--iptables-save needs --node (one of: ${model.nodes.map((n) => n.name).join(', ')})`);
  }
  if (args.node !== undefined && !model.nodes.some((n) => n.name === args.node)) {
    throw new UsageError(`--node: no node named "${args.node}" (nodes: ${model.nodes.map((n) => n.name).join(', ')})`);
  }
  try {
    let result: SimulationResult;
    try {
      result = simulate(model, {
        seed,
        flows: [flow],
        trace: false,
        hopSinks,
        captureSinks,
        ...(dump !== undefined ? { rules: { [args.node ?? model.nodes[0]!.name]: dump } } : {}),
        allPaths: args['all-paths'],
        onReady: ({ probes: [probe] }) => {
          if (files !== undefined) checkCaptureFilter(files);
          if (!args.json) {
            out(`podnet trace: ${probe!.protocol} ${probe!.from} → ${probe!.to} (${name}, seed ${seed})`);
            out('');
            out(HOP_HEADER);
          }
          return undefined;
        },
      });
    } catch (e) {
      if (e instanceof FlowError) throw new UsageError(e.message);
      throw e;
    }
    const { probe, report } = result.flows[0]!;
    const written = files?.commit() ?? [];
    if (args.json) {
      out(
        JSON.stringify(
          {
            schema: HOP_SCHEMA,
            topology: name,
            seed,
            probe: {
              name: probe.name,
              from: probe.from,
              to: probe.to,
              protocol: probe.protocol,
              port: report.port ?? null,
              count: probe.count,
            },
            events: json.events,
            result: report,
            ...(args['all-paths'] ? { allPaths: result.allPaths.map(allPathsJson) } : {}),
            captures: written,
          },
          null,
          2,
        ),
      );
    } else {
      for (const a of result.allPaths) {
        out('');
        out(`every way through ${a.node} nat/${a.hook} for ${a.packet}:`);
        for (const p of a.paths) {
          out(
            `  ${(p.probability * 100).toFixed(9).padStart(13)} %  ${p.nat ?? p.verdict}   via ${p.rules.map(ruleText).join(' → ') || '(no rule)'}`,
          );
        }
      }
      out('');
      for (const a of report.attempts)
        if (a.resolved !== undefined) for (const line of formatResolution(a.resolved)) out(line);
      out(formatProbeOutcome(report));
      for (const w of written) out(`capture written: ${w}`);
    }
    // as ping and curl: 0 when something answered, 1 when nothing did
    return report.replies > 0 ? EXIT.ok : EXIT.failed;
  } catch (e) {
    files?.abort();
    throw e;
  }
}

/** Why the flow's attempts would run past the end of virtual time (about 104 days), or undefined. */
function schedulePastLimit(f: FlowSpec): string | undefined {
  const n = (v: FlowSpec['interval']): number => (typeof v === 'number' ? v : 0);
  const count = f.count ?? 1;
  const interval = f.interval === undefined ? 1e9 : n(f.interval);
  const timeout = f.timeout === undefined ? 2e9 : n(f.timeout);
  const end = n(f.start) + (count - 1) * interval + timeout;
  if (end <= MAX_DURATION) return undefined;
  const given = `count ${count}, interval ${formatDurationArg(interval)}, timeout ${formatDurationArg(timeout)}`;
  return `the attempts (${given}) end past the limit of virtual time, ${MAX_DURATION_TEXT}`;
}
