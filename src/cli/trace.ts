/** `podnet trace`: one flow, every hop. The flags become a FlowSpec for the library's simulate(). */
import type { CommandModule } from 'yargs';
import { simulate, type SimulationResult } from '../api/simulate.js';
import { FlowError } from '../api/errors.js';
import type { FlowSpec } from '../api/flow.js';
import type { NatChoice } from '../api/results.js';
import { defaultFlowName } from '../api/flow.js';
import type { ProbeProtocol } from '../kube/model.js';
import { parseDuration } from '../sim/time.js';
import { HOP_HEADER, HOP_SCHEMA, JsonHopSink, TextHopSink } from '../trace/format.js';
import { ruleText } from '../trace/hop-text.js';
import { formatProbeOutcome } from './report.js';
import { CaptureFiles, PointFilter } from '../trace/capture-sink.js';
import type { HopSink, CaptureSink } from '../events/tracer.js';
import { EXIT, UsageError, loadModel, out, parseSeed } from './common.js';
import { checkCaptureFilter, planOutputFile } from './outputs.js';
import { readFileSync } from 'node:fs';
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
  count: number;
  size: number | undefined;
  df: boolean | undefined;
  pmtudisc: string | undefined;
  interval: string;
  timeout: string;
  seed: string | undefined;
  json: boolean;
  pcap: string | undefined;
  'pcap-format': string;
  capture: string[] | undefined;
  'all-paths': boolean;
  verbose: boolean;
  'iptables-save': string | undefined;
  node: string | undefined;
}

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
          default: 1,
          describe: 'Echo requests / connections / datagrams to send',
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
        .option('interval', { type: 'string', default: '1s', describe: 'Time between attempts (e.g. 200ms)' })
        .option('timeout', { type: 'string', default: '2s', describe: 'How long to wait for each reply / connection' })
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
          default: 'pcapng',
          choices: ['pcapng', 'pcap'],
          describe: 'pcapng (all interfaces, comments) or classic pcap (one file per interface)',
        })
        .option('capture', {
          type: 'string',
          array: true,
          describe: 'Only capture these interfaces (globs like node1/* or pod:client/eth0)',
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
        .option('node', { type: 'string', describe: 'The node whose rules --iptables-save replaces' })
        .example('$0 trace', "Trace the built-in topology's first probe")
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
        ),
    handler: (args) => {
      setCode(runTrace(args));
    },
  };
}

/** A nat choice as `podnet trace --json` prints it under `allPaths`. */
function allPathsJson(a: NatChoice): unknown {
  return { node: a.node, hook: a.hook, flow: a.packet, paths: a.paths.map((p) => ({ ...p, nat: p.nat ?? null })) };
}

function runTrace(args: TraceArgs): number {
  const seed = parseSeed(args.seed);
  const { model, name } = loadModel(args.topology, args.json, seed);
  let flow: FlowSpec;
  if (args.from === undefined && args.to === undefined) {
    const first = model.scenario?.probes[0];
    if (first === undefined)
      throw new UsageError('nothing to trace: give --from and --to (the topology has no Scenario probes)');
    // a ProbeModel is a FlowSpec with every default applied
    flow = first;
  } else {
    if (args.from === undefined || args.to === undefined)
      throw new UsageError("give both --from and --to (or neither, to trace the Scenario's first probe)");
    const interval = parseDuration(args.interval);
    const timeout = parseDuration(args.timeout);
    if (interval === undefined)
      throw new UsageError(`--interval: expected a duration like 200ms or 1s, got "${args.interval}"`);
    if (timeout === undefined || timeout === 0)
      throw new UsageError(`--timeout: expected a positive duration like 2s, got "${args.timeout}"`);
    const portInTo = /:(\d+)$/.exec(args.to);
    const port = args.port ?? (portInTo ? Number(portInTo[1]) : undefined);
    const protocol = (args.protocol ?? (port !== undefined ? 'tcp' : 'icmp')) as ProbeProtocol;
    if (protocol !== 'icmp' && port === undefined)
      throw new UsageError(`--protocol ${protocol} needs a port: --port N or --to <ip>:<port>`);
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
      throw new UsageError(`--port: expected 1–65535, got ${port}`);
    if (!(Number.isInteger(args.count) && args.count >= 1 && args.count <= 100000))
      throw new UsageError(`--count: expected 1–100000, got ${args.count}`);
    if (args.size !== undefined && !(Number.isInteger(args.size) && args.size >= 0 && args.size <= 65507))
      throw new UsageError(`--size: expected 0–65507, got ${args.size}`);
    if (args.sport !== undefined && !(Number.isInteger(args.sport) && args.sport >= 1 && args.sport <= 65535))
      throw new UsageError(`--sport: expected 1–65535, got ${args.sport}`);
    const pmtudisc = args.pmtudisc ?? (args.df === true ? 'do' : args.df === false ? 'dont' : 'want');
    flow = {
      from: args.from,
      to: args.to,
      protocol,
      port,
      sourcePort: args.sport,
      count: args.count,
      size: args.size,
      pmtudisc: pmtudisc as FlowSpec['pmtudisc'],
      interval,
      timeout,
    };
  }

  const hopSinks: HopSink[] = [];
  const json = new JsonHopSink();
  if (args.json) hopSinks.push(json);
  else hopSinks.push(new TextHopSink(out, undefined, args.verbose));
  const captureSinks: CaptureSink[] = [];
  let files: CaptureFiles | undefined;
  if (args.pcap !== undefined) {
    const fmt = args['pcap-format'];
    const fileArg = args.pcap === '' ? `trace-seed${seed}.${fmt}` : args.pcap;
    const { dir, name: fileName } = planOutputFile('--pcap', fileArg);
    // the capture sink exists before the network is built, so it names the probe as the library will
    const probeName = flow.name ?? defaultFlowName(flow.protocol ?? 'icmp', flow.from, flow.to as string);
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
      text = readFileSync(file, 'utf8');
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
    return EXIT.ok;
  } catch (e) {
    files?.abort();
    throw e;
  }
}
