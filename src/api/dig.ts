/**
 * `dig`: one DNS query from a pod (or a node, or an external host) as real packets — to the
 * source's resolv.conf nameserver (10.96.0.10 for a ClusterFirst pod, DNATed to a CoreDNS pod)
 * or a server of the caller's choice — with dig's own defaults (3 tries of 5 s, EDNS0 with a
 * 1232-byte buffer, RD and AD set), optionally walking the search list as `dig +search` does.
 * What `podnet dig` prints is made from its result.
 */
import type { ClusterModel } from '../kube/model.js';
import type { Nanos } from '../sim/time.js';
import { NS_PER_S } from '../sim/time.js';
import type { CaptureSink, HopSink } from '../events/tracer.js';
import { Resolver, parseResolvOptions } from '../apps/resolver.js';
import type { ResolverQuery } from '../apps/resolver.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import {
  DnsClass,
  DnsType,
  canonicalName,
  dnsHeader,
  dnsTypeCode,
  dnsTypeName,
  fqdn,
  optRecord,
  reverseName,
} from '../wire/dns.js';
import { isWireError } from '../wire/errors.js';
import type { DnsMessage } from '../wire/dns.js';
import { Simulation } from './simulation.js';
import { checkTopologyInput, isClusterModel, loadTopology } from './topology.js';
import type { TopologyInput } from './topology.js';
import { FlowError } from './errors.js';
import {
  checkOptBoolean,
  checkOptInteger,
  checkOptSinks,
  checkOptString,
  checkRecord,
  checkString,
  fail,
} from './check.js';

/** Options of {@link dig}. */
export interface DigOptions {
  /** The name to look up; an IPv4 address with type PTR becomes its in-addr.arpa name, as `dig -x` does. */
  readonly name: string;
  /**
   * Query type: `A` (default), `AAAA`, `SRV`, `PTR`, `CNAME`, `TXT`, `SOA`, `NS`, `MX`, `ANY`, `TYPE<n>`, or the type's
   * number.
   */
  readonly type?: string | number | undefined;
  /**
   * Where to ask from: a pod, `<namespace>/<pod>`, `node/<name>` or `ext/<name>` (default: the first pod of the input,
   * not an addon).
   */
  readonly from?: string | undefined;
  /** The server to ask, an IPv4 address (default: the source's resolv.conf nameserver). */
  readonly server?: string | undefined;
  /** Walk the source's resolv.conf search list, as `dig +search` does (ndots honoured). */
  readonly search?: boolean | undefined;
  /** Query over TCP (`dig +tcp`). */
  readonly tcp?: boolean | undefined;
  /** RNG seed (default: the seed the model was loaded with, else 1); topology input loads with it too. */
  readonly seed?: number | undefined;
  /** Sinks for the exchange's hop events (a `TextHopSink` prints them as `podnet dig --trace` does). */
  readonly hopSinks?: readonly HopSink[] | undefined;
  /** Sinks for its frames (`CaptureFiles` writes pcapng). */
  readonly captureSinks?: readonly CaptureSink[] | undefined;
}

/** What {@link dig} returns: the question, the answer (or none), and every query sent on the way. */
export interface DigResult {
  readonly seed: number;
  readonly model: ClusterModel;
  /** The source it asked from. */
  readonly from: string;
  /** The server it asked. */
  readonly server: string;
  /**
   * The question as sent: the name without its trailing dot (`web.` and `web` are the same name on the wire), a PTR
   * address written out as its in-addr.arpa name.
   */
  readonly query: { readonly name: string; readonly type: string };
  /** The names asked, in order (more than one with `search`). */
  readonly tried: readonly string[];
  /** The last answer; undefined when no server answered. */
  readonly response: DnsMessage | undefined;
  /** The server that gave the last answer, as it names itself (a CoreDNS pod, `gateway`). */
  readonly answeredBy: string | undefined;
  /** Every query sent, with its outcome. */
  readonly queries: readonly ResolverQuery[];
  /** The transport of the last query (`tcp` after a truncated UDP answer). */
  readonly proto: 'udp' | 'tcp';
  /** Virtual time when the exchange ended (ns since the Unix epoch). */
  readonly t: Nanos;
  /** The simulation it ran in, to look further (conntrack entries, CoreDNS caches). */
  readonly simulation: Simulation;
}

const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'NS', 'MX', 'ANY'];

/**
 * The question dig sends for a name and type: the type's code, and the name in canonical form,
 * without a trailing dot (an IPv4 address with type PTR becomes its in-addr.arpa name; `.` is the
 * root, the empty name). Throws an ArgumentError for an unknown type or a name that cannot be a
 * DNS name.
 */
export function digQuestion(
  name: string,
  type: string | number = 'A',
): { readonly name: string; readonly type: number } {
  checkString(name, 'opts.name');
  const code =
    typeof type === 'number'
      ? Number.isInteger(type) && type >= 0 && type <= 0xffff
        ? type
        : undefined
      : typeof type === 'string'
        ? dnsTypeCode(type)
        : undefined;
  if (code === undefined) fail('opts.type', `one of ${TYPES.join(', ')}, TYPE<n> or a type number`, type);
  const ip = parseIpv4(name);
  const given = code === DnsType.PTR && ip !== undefined ? reverseName(ip) : name;
  if (given.length === 0 || given.length > 254) fail('opts.name', 'a DNS name (1–254 characters)', name);
  let qname: string;
  try {
    // the wire has no trailing dot to carry: `name.` asks what `name` asks (as dig does without +search)
    qname = canonicalName(given);
  } catch (e) {
    if (!isWireError(e)) throw e;
    fail('opts.name', `a DNS name (${e.message})`, name);
  }
  return { name: qname, type: code };
}

/**
 * The names dig +search (like glibc) tries: the search list first below ndots dots, the name as given first otherwise.
 */
export function candidates(name: string, search: readonly string[], ndots: number): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = (name.match(/\./g) ?? []).length;
  const listed = search.map((d) => `${name}.${d}`);
  return dots >= ndots ? [name, ...listed] : [...listed, name];
}

/**
 * Sends one DNS query from a source in the cluster as real packets and returns the answer, as
 * `podnet dig` does. Throws a FlowError when the source does not exist (or the topology has no
 * pod to default to), an ArgumentError for an option of the wrong type, a TopologyError for
 * topology input that does not load.
 */
export function dig(input: ClusterModel | TopologyInput, opts: DigOptions): DigResult {
  const given = isClusterModel(input) ? input : undefined;
  if (given === undefined) checkTopologyInput(input, 'input');
  const o = checkRecord(opts, 'opts', 'an object with name');
  const type = o['type'];
  if (type !== undefined && typeof type !== 'string' && typeof type !== 'number')
    fail('opts.type', 'a type name or number', type);
  const question = digQuestion(opts.name, opts.type);
  checkOptString(o['from'], 'opts.from');
  const serverText = checkOptString(o['server'], 'opts.server');
  const server = serverText === undefined ? undefined : parseIpv4(serverText);
  if (serverText !== undefined && server === undefined) fail('opts.server', 'an IPv4 address', serverText);
  checkOptBoolean(o['search'], 'opts.search');
  checkOptBoolean(o['tcp'], 'opts.tcp');
  checkOptInteger(o['seed'], 'opts.seed');
  checkOptSinks(o['hopSinks'], 'opts.hopSinks', ['hop']);
  checkOptSinks(o['captureSinks'], 'opts.captureSinks', ['addPoint', 'packet']);

  const seed = opts.seed ?? given?.seed ?? 1;
  const model = given ?? loadTopology(input as TopologyInput, { seed });
  // default source: the first pod of the input (not one of the built-in addons), in its own network namespace
  const first = model.pods.find((p) => p.origin !== 'addon' && !p.hostNetwork) ?? model.pods[0];
  const from = opts.from ?? (first !== undefined ? `${first.namespace}/${first.name}` : undefined);
  if (from === undefined) throw new FlowError('the topology has no pods; name a source (node/<name>, ext/<name>)');
  const sim = new Simulation(model, { seed, hopSinks: opts.hopSinks ?? [], captureSinks: opts.captureSinks ?? [] });
  const setup = sim.resolverSetup(from, sim.newFlow(), 'dig');
  const nameservers = server !== undefined ? [server] : setup.conf.nameservers;
  const srv = nameservers[0] ?? 0x7f000001;
  // dig's own defaults: 3 tries of 5 s each, EDNS0 with a 1232-byte buffer, RD and AD set
  const words = [`timeout:5`, `attempts:3`, ...(opts.tcp === true ? ['use-vc'] : [])];
  const resolver = new Resolver(sim.resolveFrom(from).ns, {
    ...setup,
    conf: { ...setup.conf, nameservers: [srv], optionWords: words, options: parseResolvOptions(words) },
  });
  // a name typed with its trailing dot is absolute: +search leaves it alone
  const absolute = fqdn(opts.name) === opts.name;
  const names =
    opts.search === true
      ? candidates(absolute ? fqdn(question.name) : question.name, setup.conf.search, setup.conf.options.ndots)
      : [question.name];
  const log: ResolverQuery[] = [];
  const tried: string[] = [];
  let response: DnsMessage | undefined;
  let finished = false;
  const ask = (i: number): void => {
    const n = names[i];
    if (n === undefined) {
      finished = true;
      return;
    }
    tried.push(n);
    const q: DnsMessage = {
      header: dnsHeader({ id: sim.network.world.rng.nextU32() & 0xffff, rd: true, ad: true }),
      questions: [{ name: n, type: question.type, class: DnsClass.IN }],
      answers: [],
      authorities: [],
      additionals: [optRecord(1232)],
    };
    resolver.send([q], log, (r) => {
      const m = r.answers[0];
      response = m;
      // dig +search moves on after NXDOMAIN only
      if (m !== undefined && m.header.rcode === 3 && i + 1 < names.length) ask(i + 1);
      else finished = true;
    });
  };
  ask(0);
  sim.runUntil(() => finished, 120 * NS_PER_S);
  sim.annotateQueries(log);
  const last = log[log.length - 1];
  return {
    seed,
    model,
    from,
    server: formatIpv4(srv),
    query: { name: question.name, type: dnsTypeName(question.type) },
    tried,
    response,
    answeredBy: last?.answeredBy,
    queries: log,
    proto: last?.proto ?? (opts.tcp === true ? 'tcp' : 'udp'),
    t: sim.now,
    simulation: sim,
  };
}
