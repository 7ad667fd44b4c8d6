/**
 * The kernel topology plan: podnet's own built network (`Simulation.network`) turned into the
 * `ip` / `bridge` / `sysctl` commands that build the same thing out of real Linux parts — one
 * network namespace per podnet namespace, the same device names, MACs, MTUs, addresses,
 * routes, permanent neighbour entries and VXLAN FDB entries.
 *
 * The plan is data (argv arrays): the executor runs it, `formatPlanScript` prints it, and the
 * unit tests read it without root. Every command names one of the plan's own namespaces
 * (`ip -n <ns>`, `ip netns exec <ns>`, `bridge -n <ns>`); `assertStepConfined` refuses anything else.
 */
import type { Network, BuiltNode } from '../kube/network.js';
import type { NetNs } from '../net/netns.js';
import type { NetDevice } from '../net/device.js';
import { BridgeDevice } from '../net/bridge.js';
import { VxlanDevice } from '../net/vxlan.js';
import { VethDevice } from '../net/veth.js';
import { formatRoute } from '../net/route.js';
import { formatIpv4, formatMac } from '../wire/addr.js';
import { podListeners, type ListenerModel } from '../kube/model.js';
import { clusterDnsView, coreDnsOtherPorts, coreDnsUpstreams, dnsViewToJson, isCoreDnsPod } from '../apps/coredns.js';
import { formatResolvConf } from '../apps/resolver.js';
import type { ResolverSetup } from '../apps/resolver.js';
import type { DnsAgentConfig } from './agents/dns-server.js';

/** What a kernel namespace stands for. */
export type KernelNsRole = 'node' | 'pod' | 'external' | 'gateway' | 'switch';

/** One namespace of the plan. */
export interface KernelNamespace {
  /** The kernel netns name (`pnk1234-node1`). */
  readonly name: string;
  /** podnet's unique namespace id (`node/node1`, `pod/default/client`). */
  readonly podnetName: string;
  /** podnet's label (`node1`, `pod:client`): the prefix of its capture point names. */
  readonly label: string;
  readonly role: KernelNsRole;
}

/** Which part of the build a step belongs to (for the script's comments and error messages). */
export type StepPhase = 'netns' | 'sysctl' | 'link' | 'addr' | 'up' | 'route' | 'neigh' | 'fdb' | 'iptables';

/** One command. */
export interface PlanStep {
  readonly phase: StepPhase;
  readonly argv: readonly string[];
  /** Standard input (iptables-restore). */
  readonly input?: string;
  /** Why, in a few words (printed as a comment). */
  readonly why: string;
}

/** A capture point: one device of one namespace, named as podnet names it. */
export interface CapturePointPlan {
  /** podnet's capture point name: `node1/cni0`, `pod:client/eth0`. */
  readonly point: string;
  readonly ns: string;
  readonly dev: string;
}

/** A server to run: podnet runs one on every declared container port (and external host port). */
export interface ServerPlan {
  readonly ns: string;
  /** The name the server writes in its banner line (podnet's pod display name or host name). */
  readonly name: string;
  /** Ports served on every address, or `address:port` for a listener bound to one address (127.0.0.1:10257). */
  readonly tcp: ReadonlyArray<number | string>;
  readonly udp: ReadonlyArray<number | string>;
}

/** A DNS server to run: podnet's CoreDNS chain in a CoreDNS pod, or the underlay gateway's upstream resolver. */
export interface DnsServerPlan {
  readonly ns: string;
  /** The pod's display name, or `gateway`. */
  readonly name: string;
  readonly config: DnsAgentConfig;
}

/**
 * Files `ip netns exec` bind-mounts over /etc for one namespace (from /etc/netns/<ns>/): resolv.conf, hosts,
 * nsswitch.conf.
 */
export interface EtcFilesPlan {
  readonly ns: string;
  /** File name under /etc → content. */
  readonly files: Readonly<Record<string, string>>;
}

/** Options of the planner. */
export interface PlanOptions {
  /** Namespace name prefix, e.g. `pnk1234-` (see namePrefix). */
  readonly prefix: string;
  /**
   * The per-node iptables hook: an `iptables-restore` input for a node's namespace, or undefined
   * for none. podnet has no netfilter yet (issue 4), so the default returns undefined for every
   * node; kube-proxy/flannel rules printed by podnet as iptables-save text plug in here.
   */
  readonly iptablesRestore?: (node: BuiltNode) => string | undefined;
  /**
   * How probe sources resolve names (by podnet namespace id): their resolv.conf and hosts, as
   * podnet's resolver reads them. Each gets /etc/netns files so glibc reads the same.
   */
  readonly resolvers?: ReadonlyMap<string, ResolverSetup>;
  /** The seed of the kernel side's CoreDNS agents (loadbalance shuffles, upstream query ids). */
  readonly seed?: number;
}

/** The whole plan. */
export interface KernelPlan {
  readonly prefix: string;
  readonly namespaces: readonly KernelNamespace[];
  readonly steps: readonly PlanStep[];
  readonly captures: readonly CapturePointPlan[];
  readonly servers: readonly ServerPlan[];
  readonly dnsServers: readonly DnsServerPlan[];
  readonly etcFiles: readonly EtcFilesPlan[];
  /** podnet namespace id → kernel netns name. */
  readonly nsName: ReadonlyMap<string, string>;
}

/** The prefix every namespace of a run carries: `pnk<pid>-`. */
export function namePrefix(pid: number): string {
  return `pnk${pid}-`;
}

/** Namespaces of any podnet verify run look like this (for the stale-namespace check). */
export const ANY_RUN_NS = /^pnk(\d+)-/;

const MAX_NETNS_NAME = 200;

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '.');
}

function kernelNsName(prefix: string, ns: NetNs, net: Network): { name: string; role: KernelNsRole } {
  let tail: string;
  let role: KernelNsRole;
  if (ns === net.underlay.ns) {
    tail = 'underlay';
    role = 'switch';
  } else if (net.gateway !== undefined && ns === net.gateway.ns) {
    tail = 'gw';
    role = 'gateway';
  } else if (ns.kind === 'node') {
    tail = `node-${ns.label}`;
    role = 'node';
  } else if (ns.kind === 'pod') {
    tail = `pod-${ns.name.replace(/^pod\//, '').replace(/^default\//, '')}`;
    role = 'pod';
  } else {
    tail = `ext-${ns.label.replace(/^ext:/, '')}`;
    role = 'external';
  }
  return { name: (prefix + sanitize(tail)).slice(0, MAX_NETNS_NAME), role };
}

function ip(ns: string, ...args: string[]): string[] {
  return ['ip', '-n', ns, ...args];
}

function nsExec(ns: string, ...args: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...args];
}

function mac(m: number): string {
  return formatMac(m);
}

/** The device holding `addr` in `ns` (VXLAN's `dev`): flannel binds its VTEP to the node's uplink. */
function deviceWithAddress(ns: NetNs, addr: number): NetDevice | undefined {
  return ns.addrs.find((a) => a.addr === addr)?.dev;
}

/**
 * Plans the kernel topology for podnet's built network. Namespaces come in podnet's build order
 * (underlay switch, gateway, nodes, pods, external hosts), devices in each namespace's order.
 */
export function planKernelTopology(net: Network, opts: PlanOptions): KernelPlan {
  const prefix = opts.prefix;
  if (!/^pnk\d+-$/.test(prefix))
    throw new Error(`namespace prefix must look like pnk<pid>-, got ${JSON.stringify(prefix)}`);
  const namespaces: KernelNamespace[] = [];
  const nsName = new Map<string, string>();
  const all = [...net.world.namespaces.values()];
  const taken = new Set<string>();
  for (const ns of all) {
    const { name: base, role } = kernelNsName(prefix, ns, net);
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
    taken.add(name);
    namespaces.push({ name, podnetName: ns.name, label: ns.label, role });
    nsName.set(ns.name, name);
  }
  const k = (ns: NetNs): string => nsName.get(ns.name)!;

  const steps: PlanStep[] = [];
  const add = (phase: StepPhase, why: string, argv: string[], input?: string): void => {
    steps.push(input === undefined ? { phase, argv, why } : { phase, argv, why, input });
  };

  // 1. namespaces, loopback, sysctls (IPv6 off first: keeps ND/MLD noise out of every capture)
  for (const n of namespaces) add('netns', `${n.role} ${n.label}`, ['ip', 'netns', 'add', n.name]);
  for (const ns of all) {
    const name = k(ns);
    const s = ns.sysctl;
    const hasBridge = ns.devices.some((d) => d instanceof BridgeDevice);
    const kv = [
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      `net.ipv4.ip_forward=${s.ipForward ? 1 : 0}`,
      `net.ipv4.ip_default_ttl=${s.defaultTtl}`,
      `net.ipv4.ip_local_port_range=${s.localPortRange[0]} ${s.localPortRange[1]}`,
      `net.ipv4.icmp_ratelimit=${Math.round(s.icmpRatelimit / 1e6)}`,
      `net.ipv4.icmp_ratemask=${s.icmpRatemask}`,
      `net.ipv4.tcp_syn_retries=${s.tcpSynRetries}`,
      `net.ipv4.tcp_syn_linear_timeouts=${s.tcpSynLinearTimeouts}`,
      // bridges join 224.0.0.106 (multicast router discovery) and would report it when they come up
      'net.ipv4.igmp_link_local_mcast_reports=0',
    ];
    if (hasBridge) kv.push(`net.bridge.bridge-nf-call-iptables=${s.bridgeNfCallIptables ? 1 : 0}`);
    add('sysctl', `${ns.label}: podnet's sysctls, IPv6 off`, nsExec(name, 'sysctl', '-qw', ...kv));
    add('sysctl', `${ns.label}: loopback up`, ip(name, 'link', 'set', 'lo', 'up'));
  }

  // 2. links: bridges, VXLAN devices, veth pairs (each pair once, created directly in our namespaces)
  const seen = new Set<NetDevice>();
  const ports: Array<{ ns: string; dev: string; master: string; hairpin: boolean }> = [];
  for (const ns of all) {
    const name = k(ns);
    for (const d of ns.devices) {
      if (d instanceof BridgeDevice) {
        add(
          'link',
          `${ns.label}: bridge ${d.name}`,
          ip(
            name,
            'link',
            'add',
            d.name,
            'type',
            'bridge',
            'stp_state',
            '0',
            'ageing_time',
            String(Math.round(d.ageingTime / 1e7)),
          ),
        );
        add(
          'link',
          `${ns.label}: ${d.name} MAC and MTU`,
          ip(name, 'link', 'set', 'dev', d.name, 'address', mac(d.mac), 'mtu', String(d.mtu)),
        );
        for (const p of d.ports) ports.push({ ns: name, dev: p.dev.name, master: d.name, hairpin: p.hairpin });
      }
    }
  }
  for (const ns of all) {
    const name = k(ns);
    for (const d of ns.devices) {
      if (!(d instanceof VethDevice) || seen.has(d)) continue;
      const peer = d.peer;
      seen.add(d);
      seen.add(peer);
      add(
        'link',
        `veth pair ${ns.label}/${d.name} ↔ ${peer.ns.label}/${peer.name}`,
        ip(name, 'link', 'add', d.name, 'type', 'veth', 'peer', 'name', peer.name, 'netns', k(peer.ns)),
      );
      add(
        'link',
        `${ns.label}/${d.name} MAC and MTU`,
        ip(name, 'link', 'set', 'dev', d.name, 'address', mac(d.mac), 'mtu', String(d.mtu)),
      );
      add(
        'link',
        `${peer.ns.label}/${peer.name} MAC and MTU`,
        ip(k(peer.ns), 'link', 'set', 'dev', peer.name, 'address', mac(peer.mac), 'mtu', String(peer.mtu)),
      );
    }
  }
  for (const ns of all) {
    const name = k(ns);
    for (const d of ns.devices) {
      if (!(d instanceof VxlanDevice)) continue;
      const under = deviceWithAddress(ns, d.localIp);
      const argv = ip(
        name,
        'link',
        'add',
        d.name,
        'type',
        'vxlan',
        'id',
        String(d.vni),
        'local',
        formatIpv4(d.localIp),
      );
      if (under !== undefined) argv.push('dev', under.name);
      argv.push('dstport', String(d.dstPort), 'nolearning', 'ttl', 'auto', 'udpcsum');
      add('link', `${ns.label}: VXLAN VTEP ${d.name} (flannel)`, argv);
      add(
        'link',
        `${ns.label}: ${d.name} MAC and MTU`,
        ip(name, 'link', 'set', 'dev', d.name, 'address', mac(d.mac), 'mtu', String(d.mtu)),
      );
    }
  }
  for (const p of ports) {
    add('link', `bridge port ${p.dev} of ${p.master}`, ip(p.ns, 'link', 'set', 'dev', p.dev, 'master', p.master));
    add(
      'link',
      `hairpin ${p.hairpin ? 'on' : 'off'} on ${p.dev}`,
      ip(p.ns, 'link', 'set', 'dev', p.dev, 'type', 'bridge_slave', 'hairpin', p.hairpin ? 'on' : 'off'),
    );
  }
  // a bridge's MTU follows its ports unless set: set it again once the ports are in
  for (const ns of all) {
    for (const d of ns.devices) {
      if (d instanceof BridgeDevice)
        add('link', `${ns.label}: ${d.name} MTU pinned`, ip(k(ns), 'link', 'set', 'dev', d.name, 'mtu', String(d.mtu)));
    }
  }

  // 3. addresses, then everything up
  for (const ns of all) {
    const name = k(ns);
    for (const a of ns.addrs) {
      if (a.dev.kind === 'loopback') continue;
      const argv = ip(name, 'addr', 'add', `${formatIpv4(a.addr)}/${a.len}`);
      if (a.broadcast) argv.push('broadcast', formatIpv4(a.broadcast));
      if (a.scope !== 'universe') argv.push('scope', a.scope);
      argv.push('dev', a.dev.name);
      add('addr', `${ns.label}/${a.dev.name} address`, argv);
    }
  }
  for (const ns of all) {
    const name = k(ns);
    for (const d of ns.devices) {
      if (d.kind === 'loopback') continue;
      add(
        'up',
        `${ns.label}/${d.name} ${d.up ? 'up' : 'down'}`,
        ip(name, 'link', 'set', 'dev', d.name, d.up ? 'up' : 'down'),
      );
    }
  }

  // 4. routes (the kernel adds the proto-kernel ones itself from the addresses), neighbours, VXLAN FDB
  for (const ns of all) {
    const name = k(ns);
    for (const r of ns.fib.main.all()) {
      if (r.proto === 'kernel') continue;
      add('route', `${ns.label}: route`, ip(name, 'route', 'add', ...formatRoute(r).split(' ')));
    }
  }
  for (const ns of all) {
    const name = k(ns);
    for (const e of ns.neigh.all()) {
      if (e.state !== 0x80) continue;
      add(
        'neigh',
        `${ns.label}: permanent neighbour`,
        ip(name, 'neigh', 'add', formatIpv4(e.ip), 'lladdr', mac(e.mac), 'dev', e.dev.name, 'nud', 'permanent'),
      );
    }
  }
  for (const ns of all) {
    const name = k(ns);
    for (const d of ns.devices) {
      if (!(d instanceof VxlanDevice)) continue;
      for (const f of d.fdbEntries()) {
        add('fdb', `${ns.label}: ${d.name} FDB → remote VTEP`, [
          'bridge',
          '-n',
          name,
          'fdb',
          'append',
          mac(f.mac),
          'dev',
          d.name,
          'dst',
          formatIpv4(f.dst),
        ]);
      }
    }
  }

  // 5. the per-node iptables hook (kube-proxy / flannel rules; no-op until podnet has netfilter)
  for (const node of net.nodes.values()) {
    const rules = opts.iptablesRestore?.(node);
    if (rules !== undefined)
      add('iptables', `${node.model.name}: iptables-restore`, nsExec(k(node.ns), 'iptables-restore'), rules);
  }

  // capture points: every device podnet captures on (not loopback, not the underlay switch)
  const captures: CapturePointPlan[] = [];
  for (const ns of all) {
    if (!ns.traced) continue;
    for (const d of ns.devices) {
      if (d.kind === 'loopback') continue;
      captures.push({ point: d.point.name, ns: k(ns), dev: d.name });
    }
  }

  // servers where pods listen, as podnet's Simulation starts them: CoreDNS serves port 53 itself
  const model = net.model;
  const servers: ServerPlan[] = [];
  const dnsServers: DnsServerPlan[] = [];
  for (const pod of net.pods.values()) {
    let portsOf = podListeners(pod.model);
    if (isCoreDnsPod(pod.model)) {
      portsOf = coreDnsOtherPorts(portsOf);
      const view = dnsViewToJson(clusterDnsView(model, [pod.model.ip]));
      dnsServers.push({
        ns: k(pod.ns),
        name: pod.display,
        config: {
          mode: 'coredns',
          name: pod.display,
          view,
          upstreams: coreDnsUpstreams(pod.model, model).map(formatIpv4),
          seed: opts.seed ?? 1,
        },
      });
    }
    const at = (p: ListenerModel): number | string =>
      p.address === undefined ? p.port : `${formatIpv4(p.address)}:${p.port}`;
    const tcp = portsOf.filter((p) => p.protocol === 'TCP').map(at);
    const udp = portsOf.filter((p) => p.protocol === 'UDP').map(at);
    if (tcp.length + udp.length > 0) servers.push({ ns: k(pod.ns), name: pod.display, tcp, udp });
  }
  for (const ext of net.externals.values()) {
    const tcp = ext.model.ports.filter((p) => p.protocol === 'TCP').map((p) => p.containerPort);
    const udp = ext.model.ports.filter((p) => p.protocol === 'UDP').map((p) => p.containerPort);
    if (tcp.length + udp.length > 0) servers.push({ ns: k(ext.ns), name: ext.model.name, tcp, udp });
  }

  // the gateway's resolver (podnet always runs it; the kernel side only where something may ask it)
  const resolvers = opts.resolvers ?? new Map<string, ResolverSetup>();
  if (net.gateway !== undefined && (dnsServers.length > 0 || resolvers.size > 0)) {
    dnsServers.push({
      ns: k(net.gateway.ns),
      name: 'gateway',
      config: { mode: 'upstream', table: model.dns?.upstream ?? {} },
    });
  }
  const etcFiles: EtcFilesPlan[] = [];
  for (const [podnetNs, setup] of resolvers) {
    const ns = nsName.get(podnetNs);
    if (ns === undefined) throw new Error(`internal: no kernel namespace for ${podnetNs}`);
    const hosts = (setup.hosts ?? []).map((h) => `${formatIpv4(h.address)}\t${h.names.join(' ')}`).join('\n');
    // glibc reads files then DNS, whatever the host's own nsswitch.conf says (no systemd-resolved, no mDNS)
    etcFiles.push({
      ns,
      files: {
        'resolv.conf': `${formatResolvConf(setup.conf)}\n`,
        hosts: `${hosts}\n`,
        'nsswitch.conf': 'hosts: files dns\n',
      },
    });
  }

  const plan: KernelPlan = { prefix, namespaces, steps, captures, servers, dnsServers, etcFiles, nsName };
  for (const s of steps) assertStepConfined(s, plan);
  return plan;
}

/** Raised when a command would reach outside the plan's own namespaces. */
export class ConfinementError extends Error {
  override readonly name = 'ConfinementError';
}

/**
 * Checks that a command only touches the plan's namespaces: `ip -n <ours> …`, `bridge -n <ours> …`,
 * `ip netns add|delete|exec|pids <ours> …`, and any `netns <name>` argument names one of ours.
 */
export function assertStepConfined(step: Pick<PlanStep, 'argv'>, plan: Pick<KernelPlan, 'namespaces'>): void {
  const ours = new Set(plan.namespaces.map((n) => n.name));
  const a = step.argv;
  const bad = (why: string): never => {
    throw new ConfinementError(`refusing to run "${a.join(' ')}": ${why}`);
  };
  if (a[0] !== 'ip' && a[0] !== 'bridge') bad('only ip and bridge commands are planned');
  if (a[1] === '-n') {
    if (!ours.has(a[2] ?? '')) bad(`namespace ${a[2]} is not one of this run's`);
  } else if (a[0] === 'ip' && a[1] === 'netns') {
    if (!['add', 'delete', 'exec', 'pids'].includes(a[2] ?? '')) bad(`ip netns ${a[2]} is not allowed`);
    if (!ours.has(a[3] ?? '')) bad(`namespace ${a[3]} is not one of this run's`);
  } else {
    bad('every command must name its namespace (ip -n / ip netns exec / bridge -n)');
  }
  for (let i = 3; i < a.length - 1; i++) {
    if (a[i] === 'netns' && !ours.has(a[i + 1] ?? '')) bad(`netns ${a[i + 1]} is not one of this run's`);
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The plan as a shell script (for people: `--keep` writes it next to the captures). */
export function formatPlanScript(plan: KernelPlan): string {
  const lines = [
    '#!/bin/sh',
    "# podnet verify --kernel: the kernel topology, derived from podnet's built network",
    'set -e',
  ];
  let phase = '';
  for (const s of plan.steps) {
    if (s.phase !== phase) {
      phase = s.phase;
      lines.push('', `# --- ${phase}`);
    }
    const cmd = s.argv.map(shellQuote).join(' ');
    if (s.input !== undefined)
      lines.push(`${cmd} <<'PODNET_EOF'  # ${s.why}`, s.input.replace(/\n$/, ''), 'PODNET_EOF');
    else lines.push(`${cmd}  # ${s.why}`);
  }
  if (plan.etcFiles.length > 0) {
    lines.push('', '# /etc/netns files (ip netns exec bind-mounts them over /etc: glibc reads them)');
    for (const e of plan.etcFiles)
      for (const [name, content] of Object.entries(e.files))
        lines.push(
          `mkdir -p /etc/netns/${e.ns} && cat > /etc/netns/${e.ns}/${name} <<'PODNET_EOF'`,
          content.replace(/\n$/, ''),
          'PODNET_EOF',
        );
  }
  if (plan.dnsServers.length > 0) {
    lines.push('', '# DNS servers (src/verify/agents/dns-server.ts)');
    for (const d of plan.dnsServers)
      lines.push(`#   ${d.name}: ip netns exec ${d.ns} node dns-server.js --config <${d.config.mode} config>`);
  }
  lines.push('', '# capture points');
  for (const c of plan.captures)
    lines.push(`#   ${c.point}: ip netns exec ${c.ns} tcpdump -p --immediate-mode -U -i ${c.dev}`);
  lines.push(
    '',
    '# cleanup',
    ...[...plan.namespaces].reverse().map((n) => `# ip netns delete ${n.name}`),
    ...plan.etcFiles.map((e) => `# rm -r /etc/netns/${e.ns}`),
  );
  return `${lines.join('\n')}\n`;
}
