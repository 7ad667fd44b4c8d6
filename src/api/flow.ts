/**
 * Flows for library users: what to send (from, to, protocol, …) with the same defaults as
 * `podnet trace`, destinations given symbolically as a Service port (`{ service: 'web', via:
 * 'nodePort' }`) resolved against the model into the probe it runs as (a ProbeModel, as a
 * Scenario document loads), and the `podnet trace` arguments that replay a probe.
 */
import type { ClusterModel, ProbeModel, ProbeProtocol, ServiceModel, ServicePortModel } from '../kube/model.js';
import { formatIpv4 } from '../wire/addr.js';
import { NS_PER_MS, NS_PER_S, NS_PER_US, durationValue } from '../sim/time.js';
import type { Nanos } from '../sim/time.js';
import { FlowError } from './errors.js';
import {
  checkOptChoice,
  checkOptDuration,
  checkOptInteger,
  checkOptString,
  checkRecord,
  checkString,
  fail,
  isRecord,
} from './check.js';

/**
 * A duration: text with a unit (`10ms`, `2s`, `500us`, `2m`, `1h30m`; a bare `"10"` is refused), or a number,
 * which the library reads as nanoseconds (the YAML loader and the CLI refuse bare numbers).
 */
export type Duration = number | string;

/** How a flow reaches a Service. */
export type ServiceVia = 'clusterIP' | 'dns' | 'nodePort' | 'loadBalancer' | 'externalIP';

/** A destination given as a Service port, resolved against the model when the flow runs. */
export interface ServiceTarget {
  /** `name` (namespace default) or `namespace/name`. */
  readonly service: string;
  /** The Service port: its name or number (default: the first port). */
  readonly port?: string | number | undefined;
  /**
   * How to dial it (default `clusterIP`): its ClusterIP, its DNS name (from the client's
   * namespace: `web`, else `web.shop`), a node's address and the NodePort, its load-balancer IP,
   * or its first external IP.
   */
  readonly via?: ServiceVia | undefined;
  /** For `nodePort`: whose address to dial (default the first node). */
  readonly node?: string | undefined;
}

/**
 * One flow as a caller asks for it: a ping, TCP connections or UDP datagrams from a source to a
 * destination, every field but `from` and `to` optional, durations as text or nanoseconds. A
 * {@link ProbeModel} is a FlowSpec with every default applied: resolving one gives it back (less
 * its `expect:` and its place in the file).
 */
export interface FlowSpec {
  /** A pod (`client`, `shop/web-0`, `pod/client`), `node/<name>` or `ext/<name>`. */
  readonly from: string;
  /**
   * As `podnet trace --to` takes it (`10.96.0.10:53`, `pod/web-0:8080`, `node/node2`,
   * `ext/db`, `web.shop:80`), or a Service port.
   */
  readonly to: string | ServiceTarget;
  /** Default: the Service port's protocol, else tcp when a port is given, else icmp. */
  readonly protocol?: ProbeProtocol | undefined;
  /** Destination port (or write it in `to`). */
  readonly port?: number | undefined;
  /** Pin the client's source port (tcp/udp). */
  readonly sourcePort?: number | undefined;
  /** Echo requests, connections or datagrams (default 1). */
  readonly count?: number | undefined;
  /** Payload bytes: ping -s (default 56) or the UDP datagram (default 6); not for tcp. */
  readonly size?: number | undefined;
  /** PMTU discovery: `do` (DF, refuse oversize), `want` (Linux's default), `dont`. */
  readonly pmtudisc?: 'do' | 'want' | 'dont' | undefined;
  /** Time between attempts (default 1s). */
  readonly interval?: Duration | undefined;
  /** Reply wait; for tcp the connect timeout (default 2s). */
  readonly timeout?: Duration | undefined;
  /** Delay before the first attempt (default 0): after the previous flow ended, as a Scenario's `start`. */
  readonly start?: Duration | undefined;
  /** Name in reports (default `<protocol> <from> → <to>`, as podnet trace names it). */
  readonly name?: string | undefined;
}

const VIAS: readonly ServiceVia[] = ['clusterIP', 'dns', 'nodePort', 'loadBalancer', 'externalIP'];

/** Checks the types of a flow's fields (what a type checker would); throws an ArgumentError naming the field. */
export function checkFlowSpec(v: unknown, argument: string): FlowSpec {
  const f = checkRecord(v, argument, 'a flow ({ from, to, … })');
  checkString(f['from'], `${argument}.from`);
  const to = f['to'];
  if (isRecord(to)) {
    checkString(to['service'], `${argument}.to.service`);
    const port = to['port'];
    if (port !== undefined && typeof port !== 'string' && !(typeof port === 'number' && Number.isInteger(port)))
      fail(`${argument}.to.port`, 'a port name or number', port);
    checkOptChoice(to['via'], `${argument}.to.via`, VIAS);
    checkOptString(to['node'], `${argument}.to.node`);
  } else if (typeof to !== 'string')
    fail(`${argument}.to`, 'a destination string or a Service target ({ service, port?, via?, node? })', to);
  checkOptChoice(f['protocol'], `${argument}.protocol`, ['icmp', 'tcp', 'udp']);
  checkOptInteger(f['port'], `${argument}.port`, 1, 65535);
  checkOptInteger(f['sourcePort'], `${argument}.sourcePort`, 1, 65535);
  checkOptInteger(f['count'], `${argument}.count`, 1);
  checkOptInteger(f['size'], `${argument}.size`, 0, 65507);
  checkOptChoice(f['pmtudisc'], `${argument}.pmtudisc`, ['do', 'want', 'dont']);
  for (const d of ['interval', 'timeout', 'start']) checkOptDuration(f[d], `${argument}.${d}`);
  checkOptString(f['name'], `${argument}.name`);
  return v as FlowSpec;
}

function duration(v: Duration | undefined, dflt: Nanos, what: string): Nanos {
  if (v === undefined) return dflt;
  const d = durationValue(v);
  if (!d.ok) throw new FlowError(`${what}: ${d.error}`);
  return d.ns;
}

/** Finds a Service by `name` or `namespace/name`. */
export function findService(model: ClusterModel, ref: string): ServiceModel | undefined {
  const [ns, name] = ref.includes('/') ? (ref.split('/', 2) as [string, string]) : ['default', ref];
  return model.services.find((s) => s.namespace === ns && s.name === name);
}

/** The namespace of a flow source (`default` for node/ and ext/ sources). */
function sourceNamespace(from: string): string {
  if (from.startsWith('node/') || from.startsWith('ext/')) return 'default';
  const ref = from.startsWith('pod/') ? from.slice(4) : from;
  if (ref.includes('/')) return ref.split('/', 1)[0]!;
  return 'default';
}

function servicePort(svc: ServiceModel, port: string | number | undefined): ServicePortModel {
  const p =
    port === undefined
      ? svc.ports[0]
      : svc.ports.find((x) => (typeof port === 'number' ? x.port === port : x.name === port));
  if (p === undefined) {
    const have = svc.ports.map((x) => (x.name ? `${x.name} (${x.port})` : String(x.port))).join(', ') || 'none';
    throw new FlowError(
      `Service ${svc.namespace}/${svc.name} has no port ${port === undefined ? '' : JSON.stringify(port)} (ports: ${have})`,
    );
  }
  return p;
}

/**
 * The address and port a Service target dials. For a headless Service by name the port is the
 * endpoints' (clients connect to the pods themselves); every other way dials the Service port.
 */
export function resolveServiceTarget(
  model: ClusterModel,
  from: string,
  t: ServiceTarget,
): { to: string; protocol: ProbeProtocol } {
  const svc = findService(model, t.service);
  if (svc === undefined)
    throw new FlowError(
      `no Service ${JSON.stringify(t.service)} (Services: ${model.services.map((s) => `${s.namespace}/${s.name}`).join(', ') || 'none'})`,
    );
  const label = `Service ${svc.namespace}/${svc.name}`;
  const via = t.via ?? 'clusterIP';
  let sp: ServicePortModel | undefined;
  let portNum: number | undefined;
  if (svc.type === 'ExternalName' && svc.ports.length === 0) {
    // an ExternalName Service needs no ports: the name is all it gives, so dial what was asked for
    if (typeof t.port === 'string') throw new FlowError(`${label} has no named ports; give the port as a number`);
    portNum = t.port;
  } else {
    sp = servicePort(svc, t.port);
    portNum = sp.port;
  }
  const protocol: ProbeProtocol = sp?.protocol === 'UDP' ? 'udp' : 'tcp';
  const at = (host: string, port: number | undefined): { to: string; protocol: ProbeProtocol } => ({
    to: port === undefined ? host : `${host}:${port}`,
    protocol: port === undefined ? 'icmp' : protocol,
  });
  switch (via) {
    case 'clusterIP': {
      const ip = svc.clusterIPs[0];
      if (ip === undefined)
        throw new FlowError(
          `${label} has no ClusterIP (${svc.type === 'ExternalName' ? 'ExternalName' : 'headless'}); dial it via dns`,
        );
      return at(formatIpv4(ip), portNum);
    }
    case 'dns': {
      const ns = sourceNamespace(from);
      const host = svc.namespace === ns ? svc.name : `${svc.name}.${svc.namespace}`;
      let port = portNum;
      if (svc.headless && sp !== undefined) {
        // a headless name resolves to the pods: the client dials their port, as a StatefulSet client would
        const slicePort = model.endpointSlices
          .filter((s) => s.namespace === svc.namespace && s.serviceName === svc.name)
          .flatMap((s) => s.ports)
          .find((p) => (p.name ?? '') === (sp.name ?? '') && p.protocol === sp.protocol);
        port = slicePort?.port ?? (typeof sp.targetPort === 'number' ? sp.targetPort : sp.port);
      }
      return at(host, port);
    }
    case 'nodePort': {
      if (sp?.nodePort === undefined)
        throw new FlowError(`${label} has no NodePort${sp ? ` on port ${sp.port}` : ''} (type ${svc.type})`);
      const node = t.node === undefined ? model.nodes[0] : model.nodes.find((n) => n.name === t.node);
      if (node === undefined)
        throw new FlowError(`no node ${JSON.stringify(t.node)} (nodes: ${model.nodes.map((n) => n.name).join(', ')})`);
      return at(formatIpv4(node.ip), sp.nodePort);
    }
    case 'loadBalancer': {
      const ip = svc.loadBalancerIPs[0];
      if (ip === undefined)
        throw new FlowError(
          `${label} has no load-balancer IP (type ${svc.type}${svc.type === 'LoadBalancer' ? ', <pending>: give the Cluster a loadBalancerPool' : ''})`,
        );
      return at(formatIpv4(ip), portNum);
    }
    case 'externalIP': {
      const ip = svc.externalIPs[0];
      if (ip === undefined) throw new FlowError(`${label} has no externalIPs`);
      return at(formatIpv4(ip), portNum);
    }
  }
}

/**
 * The probe a flow runs as: the flow's defaults applied (the same as `podnet trace`'s flags) and
 * a Service target written out as an address. Throws {@link FlowError} for what cannot run and
 * an ArgumentError for a field of the wrong type.
 */
export function resolveFlow(model: ClusterModel, f: FlowSpec): ProbeModel {
  checkRecord(model, 'model', 'a cluster model (see loadTopology)');
  checkFlowSpec(f, 'flow');
  let to: string;
  let protocol = f.protocol;
  if (typeof f.to === 'string') to = f.to;
  else {
    const r = resolveServiceTarget(model, f.from, f.to);
    to = r.to;
    protocol ??= r.protocol;
  }
  const portInTo = /:(\d+)$/.exec(to);
  const port = f.port ?? (portInTo ? Number(portInTo[1]) : undefined);
  protocol ??= port !== undefined ? 'tcp' : 'icmp';
  if (protocol !== 'icmp' && port === undefined)
    throw new FlowError(`a ${protocol} flow needs a port: give port, or write it in "to" as <host>:<port>`);
  return {
    name: f.name ?? defaultFlowName(protocol, f.from, to),
    from: f.from,
    to,
    protocol,
    port: protocol === 'icmp' ? undefined : port,
    sourcePort: f.sourcePort,
    count: f.count ?? 1,
    size: f.size ?? defaultSize(protocol),
    pmtudisc: f.pmtudisc ?? 'want',
    interval: duration(f.interval, NS_PER_S, 'interval'),
    start: duration(f.start, 0, 'start'),
    timeout: duration(f.timeout, 2 * NS_PER_S, 'timeout'),
    source: undefined,
  };
}

/** The name `podnet trace` gives a flow. */
export function defaultFlowName(protocol: ProbeProtocol, from: string, to: string): string {
  return `${protocol} ${from} → ${to}`;
}

/** Default payload size: ping's 56 bytes, or the UDP probe's 6 (`probe\n`). */
export function defaultSize(protocol: ProbeProtocol): number {
  return protocol === 'icmp' ? 56 : 6;
}

/** A duration as `podnet trace` flags take it, exactly (`2s`, `10ms`, `1500us`, `7ns`). */
export function formatDurationArg(ns: Nanos): string {
  if (ns % NS_PER_S === 0) return `${ns / NS_PER_S}s`;
  if (ns % NS_PER_MS === 0) return `${ns / NS_PER_MS}ms`;
  if (ns % NS_PER_US === 0) return `${ns / NS_PER_US}us`;
  return `${ns}ns`;
}

/**
 * The `podnet trace` arguments (after `trace <topology>`) that run this probe: only flags whose
 * value differs from the command's default, plus `--protocol` always, for the reader. (A probe
 * that starts late starts right away in the command: `podnet trace` has no flag for `start`.)
 */
export function traceArgs(f: ProbeModel): string[] {
  checkRecord(f, 'probe', 'a probe (FlowResult.probe)');
  const args = ['--from', f.from, '--to', f.to, '--protocol', f.protocol];
  const portInTo = /:(\d+)$/.exec(f.to);
  if (f.port !== undefined && !(portInTo && Number(portInTo[1]) === f.port)) args.push('--port', String(f.port));
  if (f.sourcePort !== undefined) args.push('--sport', String(f.sourcePort));
  if (f.count !== 1) args.push('--count', String(f.count));
  if (f.size !== defaultSize(f.protocol)) args.push('--size', String(f.size));
  if (f.pmtudisc !== 'want') args.push('--pmtudisc', f.pmtudisc);
  // the interval only spaces attempts: with one attempt it changes nothing, so it is left out
  if (f.interval !== NS_PER_S && f.count > 1) args.push('--interval', formatDurationArg(f.interval));
  if (f.timeout !== 2 * NS_PER_S) args.push('--timeout', formatDurationArg(f.timeout));
  return args;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
