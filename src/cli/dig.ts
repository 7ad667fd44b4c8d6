/** `podnet dig`: one DNS query from a pod, as real packets (the library's dig()), printed the way dig prints it. */
import type { CommandModule } from 'yargs';
import { dig, type DigResult } from '../api/dig.js';
import { FlowError } from '../api/errors.js';
import type { ResolverQuery } from '../apps/resolver.js';
import { parseIpv4 } from '../wire/addr.js';
import { DnsType, dnsRcodeName, dnsTypeCode, dnsTypeName, ednsOf, encodeDns, formatDnsFlags } from '../wire/dns.js';
import { formatQuestion, formatRecord, fqdn, isOpt, reverseName, type DnsMessage } from '../wire/dns.js';
import { nameToLabels } from '../wire/dns.js';
import { isWireError } from '../wire/errors.js';
import { displayText } from '../wire/text.js';
import { TextHopSink } from '../trace/format.js';
import { CaptureFiles, PointFilter } from '../trace/capture-sink.js';
import type { CaptureSink, HopSink } from '../events/tracer.js';
import { EXIT, UsageError, loadModel, out, parseSeed } from './common.js';
import { VALIDATE_OPTION, validateMode } from './common.js';
import { planOutputFile } from './outputs.js';

interface DigArgs {
  name: string;
  topology: string | undefined;
  from: string | undefined;
  type: string;
  server: string | undefined;
  search: boolean;
  tcp: boolean;
  json: boolean;
  trace: boolean;
  seed: string | undefined;
  validate: string;
  pcap: string | undefined;
}

const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'NS', 'MX', 'ANY'];

/** The dig command definition. */
export function digCommand(setCode: (c: number) => void): CommandModule<object, DigArgs> {
  return {
    command: 'dig <name> [topology]',
    describe: 'Send a DNS query from a pod (real packets, DNAT to a CoreDNS pod) and print the answer as dig does',
    builder: (y) =>
      y
        .positional('name', {
          type: 'string',
          demandOption: true,
          describe:
            'The name to look up (an IPv4 address with --type PTR is turned into its in-addr.arpa name, as dig -x does)',
        })
        .positional('topology', {
          type: 'string',
          describe: 'Topology file or folder (default: the built-in two-node cluster)',
        })
        .option('from', {
          type: 'string',
          describe:
            'Where to ask from: a pod name, <namespace>/<pod>, node/<name> or ext/<name> (default: the first pod of the topology)',
        })
        .option('type', {
          alias: 't',
          type: 'string',
          default: 'A',
          describe: `Query type: ${TYPES.join(', ')} (or TYPE<n>)`,
        })
        .option('server', {
          type: 'string',
          describe:
            "The server to ask (default: the source's resolv.conf nameserver, 10.96.0.10 for a ClusterFirst pod)",
        })
        .option('search', {
          type: 'boolean',
          default: false,
          describe: "Walk the search list of the source's resolv.conf, as dig +search (ndots honoured)",
        })
        .option('tcp', { type: 'boolean', default: false, describe: 'Query over TCP (dig +tcp)' })
        .option('json', {
          type: 'boolean',
          default: false,
          describe: 'Print the query and the response as JSON (schema podnet.dig/v1)',
        })
        .option('trace', {
          type: 'boolean',
          default: false,
          describe: 'Also print every hop of the packets (as podnet trace does)',
        })
        .option('validate', VALIDATE_OPTION)
        .option('seed', { type: 'string', describe: 'RNG seed: an integer or "random" (default 1)' })
        .option('pcap', {
          type: 'string',
          describe: 'Write a capture (pcapng) of the exchange: a bare name goes to captures/',
        })
        .example('$0 dig web.shop.svc.cluster.local --from client topologies/dns.yaml', "A Service's ClusterIP")
        .example('$0 dig web --search --from shop/client topologies/dns.yaml', 'Walk the search list like a pod does')
        .example(
          '$0 dig _http._tcp.nginx.default.svc.cluster.local --type SRV --from client topologies/dns.yaml',
          'SRV records of a headless Service, A records in the additional section',
        )
        .example('$0 dig 10.96.0.10 --type PTR --from client topologies/dns.yaml', 'Reverse lookup of a ClusterIP')
        .epilog(
          'Exit codes (as dig): 0 a response came (NXDOMAIN and SERVFAIL are responses), 1 no response (timed out, unreachable), 2 bad input (topology, flags), 70 internal error.',
        ),
    handler: (args) => {
      setCode(runDig(args));
    },
  };
}

/**
 * Refuses a name dig refuses, in dig's words (`'a..b' is not a legal name (empty label)`), before
 * the topology loads: an empty label, a label over 63 bytes, a name over 255 bytes on the wire.
 */
export function digNameProblem(name: string): string | undefined {
  try {
    nameToLabels(name);
    return undefined;
  } catch (e) {
    if (!isWireError(e)) throw e;
    const m = e.message;
    const why = /empty label/.test(m)
      ? 'empty label'
      : /label of (\d+) bytes/.test(m)
        ? `label too long: ${/label of (\d+) bytes/.exec(m)?.[1]} bytes, at most 63`
        : /name of (\d+) bytes/.test(m)
          ? `name too long: ${/name of (\d+) bytes/.exec(m)?.[1]} bytes on the wire, at most 255`
          : m.replace(/ in name .*$/s, '').replace(/^dns: /, '');
    return `'${displayText(name)}' is not a legal name (${why})`;
  }
}

function runDig(args: DigArgs): number {
  const nameProblem = digNameProblem(args.name);
  if (nameProblem !== undefined) throw new UsageError(nameProblem);
  const seed = parseSeed(args.seed);
  const { model, name: topoName } = loadModel(args.topology, args.json, seed, validateMode(args.validate));
  const qtype = dnsTypeCode(args.type);
  if (qtype === undefined)
    throw new UsageError(`--type: expected one of ${TYPES.join(', ')} or TYPE<n>, got "${args.type}"`);
  if (args.server !== undefined && parseIpv4(args.server) === undefined) {
    throw new UsageError(`--server: expected an IPv4 address, got "${args.server}"`);
  }
  const asIp = parseIpv4(args.name);
  const qname = qtype === DnsType.PTR && asIp !== undefined ? reverseName(asIp) : args.name;
  if (qname.length === 0 || qname.length > 254) throw new UsageError(`"${displayText(args.name)}" is not a DNS name`);

  const hopSinks: HopSink[] = args.trace && !args.json ? [new TextHopSink(out, undefined, false)] : [];
  const captureSinks: CaptureSink[] = [];
  let files: CaptureFiles | undefined;
  if (args.pcap !== undefined) {
    const { dir, name: fileName } = planOutputFile('--pcap', args.pcap === '' ? `dig-seed${seed}.pcapng` : args.pcap);
    files = new CaptureFiles(
      dir,
      fileName,
      'single',
      new PointFilter([]),
      `podnet dig ${qname} ${dnsTypeName(qtype)}, seed ${seed}`,
    );
    captureSinks.push(files);
  }
  try {
    let r: DigResult;
    try {
      const { name, type, from, server, search, tcp } = args;
      r = dig(model, { name, type, from, server, search, tcp, seed, hopSinks, captureSinks });
    } catch (e) {
      // the flags are checked above: what the library can still refuse is the source
      if (e instanceof FlowError) throw new UsageError(`--from: ${e.message}`);
      throw e;
    }
    const written = files?.commit() ?? [];
    if (args.json) {
      out(
        JSON.stringify(
          {
            schema: 'podnet.dig/v1',
            topology: topoName,
            seed,
            from: r.from,
            server: r.server,
            query: r.query,
            tried: r.tried,
            response: r.response === undefined ? null : messageJson(r.response),
            answeredBy: r.answeredBy ?? null,
            queries: r.queries,
            captures: written,
          },
          null,
          2,
        ),
      );
    } else {
      const lines = formatDig(args.name, r.query.name, qtype, r.from, r.server, r.proto, r.response, r.queries, r.t);
      for (const line of lines) out(line);
      for (const w of written) out(`;; capture written: ${w}`);
    }
    return r.response === undefined ? EXIT.failed : EXIT.ok;
  } catch (e) {
    files?.abort();
    throw e;
  }
}

function messageJson(m: DnsMessage): unknown {
  const rr = (r: DnsMessage['answers'][number]): string => formatRecord(r).replace(/\t+/g, ' ');
  return {
    id: m.header.id,
    status: dnsRcodeName(m.header.rcode),
    flags: formatDnsFlags(m.header),
    question: m.questions.map((q) => ({ name: fqdn(q.name), type: dnsTypeName(q.type) })),
    answer: m.answers.map(rr),
    authority: m.authorities.map(rr),
    additional: m.additionals.filter((r) => !isOpt(r)).map(rr),
    size: encodeDns(m).length,
  };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** dig's WHEN line for virtual time `t` (podnet's clock starts at the Unix epoch). */
function when(t: number): string {
  const d = new Date(Math.floor(t / 1e6));
  const p = (n: number): string => String(n).padStart(2, '0');
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${time} UTC ${d.getUTCFullYear()}`;
}

/** The lines dig prints for a response (or for no response). */
export function formatDig(
  asked: string,
  qname: string,
  qtype: number,
  from: string,
  srv: string,
  proto: 'udp' | 'tcp',
  m: DnsMessage | undefined,
  log: readonly ResolverQuery[],
  now: number,
): string[] {
  const lines = [
    `; <<>> podnet dig <<>> ${displayText(asked)}${qtype !== DnsType.A ? ` ${dnsTypeName(qtype)}` : ''} (from ${from})`,
    ';; global options: +cmd',
  ];
  if (log.some((q) => q.tc === true)) lines.push(';; Truncated, retrying in TCP mode.');
  if (m === undefined) {
    for (const q of log)
      if (q.error !== undefined)
        lines.push(`;; communications error to ${srv}#53: ${q.error === 'timeout' ? 'timed out' : q.error}`);
    lines.push(';; no servers could be reached');
    return lines;
  }
  const h = m.header;
  const opt = m.additionals.filter(isOpt);
  lines.push(';; Got answer:');
  lines.push(`;; ->>HEADER<<- opcode: QUERY, status: ${dnsRcodeName(h.rcode)}, id: ${h.id}`);
  lines.push(
    `;; flags: ${formatDnsFlags(h)}; QUERY: ${m.questions.length}, ANSWER: ${m.answers.length}, AUTHORITY: ${m.authorities.length}, ADDITIONAL: ${m.additionals.length}`,
  );
  if (h.rd && !h.ra) lines.push(';; WARNING: recursion requested but not available');
  lines.push('');
  const e = ednsOf(m);
  if (opt.length > 0 && e !== undefined) {
    lines.push(';; OPT PSEUDOSECTION:');
    lines.push(`; EDNS: version: ${e.version}, flags:${e.do ? ' do' : ''}; udp: ${e.udpSize}`);
  }
  lines.push(';; QUESTION SECTION:');
  for (const q of m.questions) lines.push(formatQuestion(q));
  const section = (title: string, rs: DnsMessage['answers']): void => {
    const shown = rs.filter((r) => !isOpt(r));
    if (shown.length === 0) return;
    lines.push('', `;; ${title} SECTION:`);
    for (const r of shown) lines.push(formatRecord(r));
  };
  section('ANSWER', m.answers);
  section('AUTHORITY', m.authorities);
  section('ADDITIONAL', m.additionals);
  const last = log[log.length - 1];
  const rtt = last === undefined ? 0 : Math.max(0, Math.floor((now - last.t) / 1e6));
  lines.push('');
  lines.push(`;; Query time: ${rtt} msec`);
  lines.push(`;; SERVER: ${srv}#53(${srv}) (${proto.toUpperCase()})`);
  if (last?.answeredBy !== undefined) lines.push(`;; ANSWERED BY: ${last.answeredBy} (podnet: the pod behind ${srv})`);
  lines.push(`;; WHEN: ${when(now)}`);
  lines.push(`;; MSG SIZE  rcvd: ${last?.size ?? encodeDns(m).length}`);
  // the question differs from what was typed beyond the trailing dot (an address asked as PTR)
  if (fqdn(qname) !== fqdn(asked)) lines.push(`;; (asked ${qname})`);
  lines.push('');
  return lines;
}
