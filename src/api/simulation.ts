/**
 * A simulation: the emulated network of a cluster model plus servers on every declared port,
 * driven by probes. This is what the CLI and library users run.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import { NS_PER_S } from '../sim/time.js';
import type { Nanos } from '../sim/time.js';
import type { CaptureSink, FlowRecord, HopSink } from '../events/tracer.js';
import type { NetNs } from '../net/netns.js';
import type { ClusterModel, ProbeModel, ProbeProtocol } from '../kube/model.js';
import { podDisplayName, podListeners } from '../kube/model.js';
import { buildNetwork } from '../kube/network.js';
import type { BuildOptions, BuiltPod, Network } from '../kube/network.js';
import { startServers } from '../apps/servers.js';
import type { ServerObservation } from '../apps/servers.js';
import { ProbeRun, emptyReport } from '../apps/probe.js';
import type { ProbeReport, ProbeSpec } from '../apps/probe.js';
import type { PmtuDisc } from '../net/sockets.js';
import { CoreDnsServer, clusterDnsView, coreDnsOtherPorts, coreDnsUpstreams, isCoreDnsPod } from '../apps/coredns.js';
import { startUpstreamDns } from '../apps/dns-server.js';
import type { DnsServerLogEntry } from '../apps/dns-server.js';
import { hostHosts, hostResolvConf, isResolvableName, podHosts, podResolvConf } from '../apps/resolver.js';
import type { ResolverSetup } from '../apps/resolver.js';
import { dnsTypeName, sameName } from '../wire/dns.js';
import { FlowError } from './errors.js';
import { checkOptInteger, checkOptions, checkOptSinks, fail } from './check.js';
import { isClusterModel } from './topology.js';
import { checkKubeProxy } from './rules.js';

/** Options of a simulation. */
export interface SimulationOptions {
  /** RNG seed (default 1). */
  readonly seed?: number;
  readonly hopSinks?: readonly HopSink[];
  readonly captureSinks?: readonly CaptureSink[];
  /** Upper bound on events per run call, against runaway loops (default 50 million). */
  readonly maxEvents?: number;
  /** Network build options (kube-proxy settings, netfilter off). */
  readonly build?: BuildOptions;
}

/** How {@link Simulation.run} runs its probes. */
export interface RunOptions {
  /**
   * false (default): one after another, each probe's `start` counting from the end of the
   * previous one; true: side by side, each starting at its `start` offset from now.
   */
  readonly parallel?: boolean;
  /** Keep running until this much virtual time has passed since the run began, even when every probe finished. */
  readonly duration?: Nanos | undefined;
  /**
   * Called once every probe is resolved (flow ids assigned) and before anything runs; what it
   * returns, if a function, is called when the run ends, even when it throws.
   */
  readonly ready?: () => (() => void) | undefined;
}

/** A resolved endpoint in the network. */
export interface Endpoint {
  readonly ns: NetNs;
  readonly name: string;
}

/** Runs probes through an emulated cluster network. */
export class Simulation {
  readonly network: Network;
  readonly seed: number;
  private observations = new Map<number, Map<string, number>>();
  private nextFlow = 1;
  private readonly maxEvents: number;
  /** Ports that could not be bound (two hostNetwork pods on one port, ...). */
  readonly serverWarnings: string[] = [];
  /** Every query a DNS server (a CoreDNS pod, the gateway's resolver) answered, in order. */
  readonly dnsLog: DnsServerLogEntry[] = [];
  /** The CoreDNS servers, by pod display name. */
  readonly coreDns = new Map<string, CoreDnsServer>();

  constructor(
    readonly model: ClusterModel,
    opts: SimulationOptions = {},
  ) {
    if (!isClusterModel(model)) fail('model', 'a cluster model (see loadTopology)', model);
    const o = checkOptions(opts, 'opts');
    this.seed = checkOptInteger(o['seed'], 'opts.seed') ?? 1;
    this.maxEvents = checkOptInteger(o['maxEvents'], 'opts.maxEvents', 1) ?? 50_000_000;
    checkOptSinks(o['hopSinks'], 'opts.hopSinks', ['hop']);
    checkOptSinks(o['captureSinks'], 'opts.captureSinks', ['addPoint', 'packet']);
    const build = checkOptions(o['build'], 'opts.build');
    const proxy = build['proxy'] === undefined ? undefined : checkKubeProxy(build['proxy'], 'opts.build.proxy');
    this.network = buildNetwork(model, this.seed, proxy === undefined ? opts.build : { ...opts.build, proxy });
    const tracer = this.network.world.tracer;
    for (const s of opts.hopSinks ?? []) tracer.addHopSink(s);
    for (const s of opts.captureSinks ?? []) tracer.addCaptureSink(s);
    if (tracer.capturing) {
      // register every device up front so the capture lists all interfaces, silent ones too
      for (const ns of this.network.world.namespaces.values()) {
        if (ns.kind === 'switch') continue;
        for (const d of ns.devices) if (d.kind !== 'loopback') tracer.registerPoint(d.point);
      }
    }
    const observe = (o: ServerObservation): void => {
      if (o.flow === 0) return;
      let m = this.observations.get(o.flow);
      if (m === undefined) this.observations.set(o.flow, (m = new Map()));
      const key = `${o.server}\u0000${formatIpv4(o.peer)}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    };
    const logDns = (e: DnsServerLogEntry): void => {
      this.dnsLog.push(e);
    };
    this.observe = observe;
    this.logDns = logDns;
    for (const pod of this.network.pods.values()) this.startPod(pod);
    // pods built later (lazily, when traffic first reaches them) get their servers then
    this.network.onPodBuilt = (pod) => {
      if (tracer.capturing) for (const d of pod.ns.devices) if (d.kind !== 'loopback') tracer.registerPoint(d.point);
      if (pod.hostVeth !== undefined && tracer.capturing) tracer.registerPoint(pod.hostVeth.point);
      this.startPod(pod);
    };
    const gw = this.network.gateway;
    if (gw !== undefined) {
      for (const f of startUpstreamDns(gw.ns, model.dns?.upstream ?? {}, logDns))
        this.serverWarnings.push(`underlay gateway: cannot serve DNS on ${f}`);
    }
    for (const ext of this.network.externals.values()) {
      const ports = ext.model.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol }));
      const failed = startServers(ext.ns, ext.model.name, ports, observe);
      for (const f of failed) this.serverWarnings.push(`external host ${ext.model.name}: cannot serve ${f}`);
    }
  }

  private readonly observe: (o: ServerObservation) => void;
  private readonly logDns: (e: DnsServerLogEntry) => void;

  /** Starts a pod's servers: CoreDNS on a CoreDNS pod, the banner server wherever the pod listens. */
  private startPod(pod: BuiltPod): void {
    const model = this.model;
    let ports = podListeners(pod.model);
    if (isCoreDnsPod(pod.model)) {
      // CoreDNS serves port 53 over UDP and TCP whatever the pod declares; other ports get the banner server
      ports = coreDnsOtherPorts(ports);
      const server = new CoreDnsServer(pod.ns, {
        name: pod.display,
        view: clusterDnsView(model, [pod.model.ip]),
        upstreams: coreDnsUpstreams(pod.model, model),
        log: this.logDns,
      });
      for (const f of server.start()) this.serverWarnings.push(`pod ${pod.display}: cannot serve DNS on ${f}`);
      this.coreDns.set(pod.display, server);
    }
    const failed = startServers(pod.ns, pod.display, ports, this.observe);
    for (const f of failed) this.serverWarnings.push(`pod ${pod.display}: cannot serve ${f}`);
  }

  /** Virtual time now (ns). */
  get now(): Nanos {
    return this.network.world.now;
  }

  /** Resolves a probe source: `pod/<ns>/<name>`, `<name>`, `<ns>/<name>`, `node/<name>`, `ext/<name>`. */
  resolveFrom(ref: string): Endpoint {
    const net = this.network;
    if (ref.startsWith('node/')) {
      const n = net.nodes.get(ref.slice(5));
      if (n) return { ns: n.ns, name: n.model.name };
      throw new FlowError(`no node named "${ref.slice(5)}" (nodes: ${[...net.nodes.keys()].join(', ')})`);
    }
    if (ref.startsWith('ext/')) {
      const e = net.externals.get(ref.slice(4));
      if (e) return { ns: e.ns, name: e.model.name };
      throw new FlowError(
        `no external host named "${ref.slice(4)}"${net.externals.size ? ` (external hosts: ${[...net.externals.keys()].join(', ')})` : ''}`,
      );
    }
    const podRef = ref.startsWith('pod/') ? ref.slice(4) : ref;
    const p = net.pod(podRef);
    if (p) return { ns: p.ns, name: p.display };
    const names = this.model.pods.map((x) => podDisplayName(x));
    throw new FlowError(
      `no pod named "${podRef}" (pods: ${names.length > 20 ? `${names.slice(0, 20).join(', ')} … and ${names.length - 20} more` : names.join(', ')})`,
    );
  }

  /**
   * Resolves a destination: `<ip>[:port]`, `pod/[<ns>/]<name>[:port]`, `node/<name>`, `ext/<name>`,
   * or a host name (`web`, `web.shop:80`), which comes back as `name` for the probe to resolve over DNS.
   */
  resolveTo(to: string): { dst: Ipv4Addr; port: number | undefined; name?: string } {
    let host = to;
    let port: number | undefined;
    const m = /^(.*):(\d+)$/.exec(to);
    if (m) {
      host = m[1]!;
      port = Number(m[2]);
      if (!(port >= 1 && port <= 65535)) throw new FlowError(`port ${m[2]} out of range 1–65535 in "${to}"`);
    }
    const ip = parseIpv4(host);
    if (ip !== undefined) return { dst: ip, port };
    if (host.startsWith('pod/')) {
      const p = this.network.pod(host.slice(4));
      if (p) return { dst: p.model.ip, port };
      throw new FlowError(`no pod named "${host.slice(4)}"`);
    }
    if (host.startsWith('node/')) {
      const n = this.network.nodes.get(host.slice(5));
      if (n) return { dst: n.model.ip, port };
      throw new FlowError(`no node named "${host.slice(5)}"`);
    }
    if (host.startsWith('ext/')) {
      const e = this.network.externals.get(host.slice(4));
      if (e) return { dst: e.model.ip, port };
      throw new FlowError(`no external host named "${host.slice(4)}"`);
    }
    if (isResolvableName(host)) return { dst: 0, port, name: host };
    throw new FlowError(
      `cannot resolve "${to}": expected an IPv4 address, pod/<name>, node/<name>, ext/<name> or a DNS name (optionally with :port)`,
    );
  }

  /** Binds a probe to the network: its source netns, its destination, a new flow id. */
  private specFor(p: ProbeModel): ProbeSpec {
    const from = this.resolveFrom(p.from);
    const to = this.resolveTo(p.to);
    const port = p.port ?? to.port;
    if (p.protocol !== 'icmp' && port === undefined) throw new FlowError(`probe ${p.name}: ${p.protocol} needs a port`);
    const flow = this.nextFlow++;
    return {
      name: p.name,
      flow,
      ...(to.name !== undefined ? { resolve: { name: to.name, setup: this.resolverSetup(p.from, flow) } } : {}),
      fromNs: from.ns,
      fromName: from.name,
      dst: to.dst,
      to: p.to,
      port: p.protocol === 'icmp' ? undefined : port,
      protocol: p.protocol,
      count: p.count,
      size: p.size,
      pmtudisc: p.pmtudisc as PmtuDisc,
      interval: p.interval,
      start: p.start,
      timeout: p.timeout,
      sourcePort: p.sourcePort,
    };
  }

  /**
   * Runs probes concurrently, each starting at its `start` offset from now, until all finish
   * (and at least until `until`, an absolute virtual time, when given).
   */
  runProbes(probes: readonly ProbeModel[], until?: Nanos): ProbeReport[] {
    const specs = probes.map((p) => this.specFor(p));
    this.record(specs);
    return this.runSpecs(specs, until);
  }

  /**
   * Starts recording the NAT bindings and drops of these probes, traced or not ({@link flowRecord}
   * hands them out until the next run starts; the previous run's are dropped).
   */
  private record(specs: readonly ProbeSpec[]): void {
    const tracer = this.network.world.tracer;
    tracer.forgetRecords();
    for (const spec of specs) tracer.record(spec.flow);
  }

  /**
   * Runs probes as a Scenario runs them (see {@link RunOptions}): every probe is resolved first,
   * so a {@link FlowError} (an unknown pod, node or host) comes before anything runs.
   */
  run(probes: readonly ProbeModel[], opts: RunOptions = {}): ProbeReport[] {
    const world = this.network.world;
    const until = opts.duration === undefined ? undefined : world.now + opts.duration;
    const specs = probes.map((p) => this.specFor(p));
    this.record(specs);
    const after = opts.ready?.();
    try {
      if (opts.parallel === true) return this.runSpecs(specs, until);
      // one after another: each probe's `start` counts from the end of the previous one
      const reports = specs.map((spec) => this.runSpecs([spec])[0]!);
      if (until !== undefined && until > world.now) this.advance(until - world.now);
      return reports;
    } finally {
      if (typeof after === 'function') after();
    }
  }

  /** Runs probes bound to the network side by side (see runProbes). */
  private runSpecs(specs: readonly ProbeSpec[], until?: Nanos): ProbeReport[] {
    const world = this.network.world;
    const t0 = world.now;
    let remaining = specs.length;
    const results: ProbeReport[] = new Array(specs.length);
    specs.forEach((spec, i) => {
      const run = new ProbeRun({ ...spec, start: spec.start }, (r) => {
        results[i] = r;
        if (--remaining === 0) world.sched.stop();
      });
      run.schedule();
    });
    // bound: the longest probe's schedule plus its timeout plus TCP's longest SYN back-off
    const horizon = Math.max(0, ...specs.map((s) => s.start + s.count * s.interval + s.timeout)) + 130 * NS_PER_S;
    let budget = this.maxEvents;
    if (remaining > 0) budget -= world.sched.run(t0 + horizon, budget);
    if (until !== undefined && until > world.now) world.sched.run(until, budget);
    return specs.map((spec, i) => this.report(spec, results[i]));
  }

  /**
   * How a source resolves names: its /etc/resolv.conf and /etc/hosts as kubelet writes them for
   * a pod (the node's for node/ and ext/ sources), and the flow its packets carry.
   */
  resolverSetup(from: string, flow: number, tag = 'resolver'): ResolverSetup {
    const src = this.resolveFrom(from);
    const pod = [...this.network.pods.values()].find((p) => p.ns === src.ns && p.display === src.name);
    if (pod !== undefined)
      return { conf: podResolvConf(pod.model, this.model), hosts: podHosts(pod.model, this.model), flow, tag };
    const node = [...this.network.nodes.values()].find((n) => n.ns === src.ns);
    return { conf: hostResolvConf(this.model), hosts: hostHosts(node?.model), flow, tag };
  }

  /** The NAT bindings and drops of a probe of the last run (once: they are handed over, not kept). */
  flowRecord(flow: number): FlowRecord {
    return this.network.world.tracer.takeRecord(flow);
  }

  /** A fresh flow id (for traffic the caller starts itself, e.g. `podnet dig`). */
  newFlow(): number {
    return this.nextFlow++;
  }

  /** Runs events until `done()` holds, nothing is left to run, or `horizon` ns of virtual time passed. */
  runUntil(done: () => boolean, horizon: Nanos): void {
    const world = this.network.world;
    const stop = world.now + horizon;
    let budget = this.maxEvents;
    while (!done() && budget > 0) {
      const next = world.sched.peekTime();
      if (next === undefined || next > stop) break;
      budget -= world.sched.run(next, Math.min(budget, 100_000));
    }
  }

  /** Fills in which server answered each resolver query (from the servers' own logs). */
  annotateQueries(
    queries: ReadonlyArray<{
      readonly t: number;
      readonly id: number;
      readonly name: string;
      readonly type: string;
      answeredBy?: string;
      rcode?: string;
    }>,
  ): void {
    const used = new Set<DnsServerLogEntry>();
    for (const q of queries) {
      if (q.rcode === undefined) continue;
      const e = this.dnsLog.find(
        (x) =>
          !used.has(x) &&
          x.t >= q.t &&
          x.id === q.id &&
          dnsTypeName(x.type) === q.type &&
          // a name asked with its trailing dot is the same question
          sameName(x.name, q.name),
      );
      if (e === undefined) continue;
      used.add(e);
      q.answeredBy = e.server;
    }
  }

  private report(spec: ProbeSpec, r: ProbeReport | undefined): ProbeReport {
    const base: ProbeReport = r ?? emptyReport(spec);
    for (const a of base.attempts) if (a.resolved !== undefined) this.annotateQueries(a.resolved.queries);
    const obs = this.observations.get(spec.flow);
    const serverSide = obs
      ? [...obs.entries()].map(([k, count]) => {
          const [server, peer] = k.split('\u0000') as [string, string];
          return { server, peer, count };
        })
      : [];
    serverSide.sort((a, b) =>
      a.server < b.server ? -1 : a.server > b.server ? 1 : a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0,
    );
    const delivered =
      spec.protocol === 'icmp'
        ? (this.network.world.echoAnswered.get(spec.flow) ?? 0)
        : serverSide.reduce((n, s) => n + s.count, 0);
    return { ...base, delivered, serverSide };
  }

  /** Lets virtual time pass (timers fire: ARP probes, retransmissions, ageing). */
  advance(ns: Nanos): void {
    const w = this.network.world;
    w.sched.run(w.now + ns, this.maxEvents);
  }

  /** Runs the model's Scenario (an empty list when it has none). */
  runScenario(): ProbeReport[] {
    const sc = this.model.scenario;
    if (sc === undefined) return [];
    return this.run(sc.probes, { parallel: sc.parallel, duration: sc.duration });
  }

  /** A one-off probe with `podnet trace`'s defaults, started now. */
  probe(
    from: string,
    to: string,
    protocol: ProbeProtocol,
    opts: Partial<Omit<ProbeModel, 'from' | 'to' | 'protocol'>> = {},
  ): ProbeReport {
    const model: ProbeModel = {
      name: opts.name ?? `${protocol} ${from} → ${to}`,
      from,
      to,
      protocol,
      port: opts.port,
      sourcePort: opts.sourcePort,
      count: opts.count ?? 1,
      size: opts.size ?? (protocol === 'icmp' ? 56 : 6),
      pmtudisc: opts.pmtudisc ?? 'want',
      interval: opts.interval ?? NS_PER_S,
      start: opts.start ?? 0,
      timeout: opts.timeout ?? 2 * NS_PER_S,
      source: undefined,
    };
    return this.runProbes([model])[0]!;
  }
}
