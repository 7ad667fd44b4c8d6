/**
 * After the build: does the kernel topology hold what podnet's network holds? Reads every
 * namespace back with `ip -j` / `bridge -j` and compares devices (kind, MAC, MTU, up, master,
 * hairpin, VXLAN id/port/local/learning), addresses, the main routing table, permanent
 * neighbours and VXLAN FDB entries with podnet's. Differences are `topology` mismatches.
 */
import type { Network } from '../kube/network.js';
import type { NetNs } from '../net/netns.js';
import { BridgeDevice } from '../net/bridge.js';
import { VxlanDevice } from '../net/vxlan.js';
import type { Route } from '../net/route.js';
import { formatIpv4, formatMac } from '../wire/addr.js';
import type { KernelPlan } from './plan.js';
import type { Mismatch } from './compare.js';
import { runSync } from './host.js';

type Json = Record<string, unknown>;

function readJson(argv: string[]): Json[] {
  const r = runSync(argv, { timeoutMs: 10_000 });
  if (r.status !== 0 || r.stdout.trim() === '') return [];
  try {
    const v = JSON.parse(r.stdout) as unknown;
    return Array.isArray(v) ? (v as Json[]) : [];
  } catch {
    return [];
  }
}

function str(v: unknown): string {
  return v === undefined || v === null ? '(absent)' : String(v);
}

/** Canonical route text shared by both sides. */
export function routeKey(r: {
  type: string;
  dst: string;
  gateway: string;
  dev: string;
  proto: string;
  prefsrc: string;
  onlink: boolean;
}): string {
  return `${r.type} ${r.dst} via ${r.gateway || '-'} dev ${r.dev || '-'} proto ${r.proto} src ${r.prefsrc || '-'}${r.onlink ? ' onlink' : ''}`;
}

function podnetRoute(r: Route): string {
  return routeKey({
    type: r.type,
    dst: `${formatIpv4(r.dst)}/${r.len}`,
    gateway: r.gateway ? formatIpv4(r.gateway) : '',
    dev: r.dev?.name ?? '',
    proto: r.proto === 'kernel' ? 'kernel' : 'static',
    prefsrc: r.prefsrc ? formatIpv4(r.prefsrc) : '',
    onlink: r.onlink,
  });
}

function kernelRoute(j: Json): string {
  let dst = str(j.dst);
  if (dst === 'default') dst = '0.0.0.0/0';
  else if (!dst.includes('/')) dst = `${dst}/32`;
  const flags = Array.isArray(j.flags) ? (j.flags as string[]) : [];
  return routeKey({
    type: typeof j.type === 'string' ? j.type : 'unicast',
    dst,
    gateway: typeof j.gateway === 'string' ? j.gateway : '',
    dev: typeof j.dev === 'string' ? j.dev : '',
    proto: j.protocol === 'kernel' ? 'kernel' : 'static',
    prefsrc: typeof j.prefsrc === 'string' ? j.prefsrc : '',
    onlink: flags.includes('onlink'),
  });
}

function setDiff(point: string, what: string, kernel: Set<string>, podnet: Set<string>, out: Mismatch[]): void {
  for (const k of kernel)
    if (!podnet.has(k)) out.push({ kind: 'topology', point, field: what, kernel: k, podnet: '(absent)' });
  for (const p of podnet)
    if (!kernel.has(p)) out.push({ kind: 'topology', point, field: what, kernel: '(absent)', podnet: p });
}

function checkNamespace(ns: NetNs, kns: string, out: Mismatch[]): void {
  const point = `topology ${ns.label}`;
  const links = new Map(readJson(['ip', '-n', kns, '-d', '-j', 'link', 'show']).map((l) => [str(l.ifname), l]));
  for (const d of ns.devices) {
    if (d.kind === 'loopback') continue;
    const l = links.get(d.name);
    links.delete(d.name);
    if (l === undefined) {
      out.push({
        kind: 'topology',
        point,
        field: `link ${d.name}`,
        kernel: '(absent)',
        podnet: `${d.kind} ${formatMac(d.mac)}`,
      });
      continue;
    }
    const info = (l.linkinfo ?? {}) as Json;
    const data = (info.info_data ?? {}) as Json;
    const slave = (info.info_slave_data ?? {}) as Json;
    const flags = Array.isArray(l.flags) ? (l.flags as string[]) : [];
    const cmp = (field: string, k: unknown, p: unknown): void => {
      if (str(k) !== str(p))
        out.push({ kind: 'topology', point, field: `link ${d.name} ${field}`, kernel: str(k), podnet: str(p) });
    };
    cmp('kind', info.info_kind, d.kind);
    cmp('address', l.address, formatMac(d.mac));
    cmp('mtu', l.mtu, d.mtu);
    cmp('up', flags.includes('UP'), d.up);
    cmp('master', l.master, d.master?.name);
    if (d.port !== null) cmp('hairpin', slave.hairpin, d.port.hairpin);
    if (d instanceof VxlanDevice) {
      cmp('vxlan id', data.id, d.vni);
      cmp('vxlan dstport', data.port, d.dstPort);
      cmp('vxlan local', data.local, formatIpv4(d.localIp));
      cmp('vxlan learning', data.learning, false);
    }
    if (d instanceof BridgeDevice) cmp('bridge ageing_time', data.ageing_time, Math.round(d.ageingTime / 1e7));
  }
  for (const [name] of links) {
    if (name !== 'lo')
      out.push({ kind: 'topology', point, field: `link ${name}`, kernel: 'present', podnet: '(absent)' });
  }

  const kAddrs = new Set<string>();
  for (const l of readJson(['ip', '-n', kns, '-j', '-4', 'addr', 'show'])) {
    for (const a of (l.addr_info ?? []) as Json[])
      if (l.ifname !== 'lo') kAddrs.add(`${str(a.local)}/${str(a.prefixlen)} dev ${str(l.ifname)}`);
  }
  const pAddrs = new Set(
    ns.addrs.filter((a) => a.dev.kind !== 'loopback').map((a) => `${formatIpv4(a.addr)}/${a.len} dev ${a.dev.name}`),
  );
  setDiff(point, 'address', kAddrs, pAddrs, out);

  const kRoutes = new Set(readJson(['ip', '-n', kns, '-j', '-4', 'route', 'show', 'table', 'main']).map(kernelRoute));
  const pRoutes = new Set(ns.fib.main.all().map(podnetRoute));
  setDiff(point, 'route', kRoutes, pRoutes, out);

  const kNeigh = new Set(
    readJson(['ip', '-n', kns, '-j', 'neigh', 'show', 'nud', 'permanent']).map(
      (n) => `${str(n.dst)} lladdr ${str(n.lladdr)} dev ${str(n.dev)}`,
    ),
  );
  const pNeigh = new Set(
    ns.neigh
      .all()
      .filter((e) => e.state === 0x80)
      .map((e) => `${formatIpv4(e.ip)} lladdr ${formatMac(e.mac)} dev ${e.dev.name}`),
  );
  setDiff(point, 'permanent neighbour', kNeigh, pNeigh, out);

  for (const d of ns.devices) {
    if (!(d instanceof VxlanDevice)) continue;
    const kFdb = new Set(
      readJson(['bridge', '-n', kns, '-j', 'fdb', 'show', 'dev', d.name])
        .filter((f) => typeof f.dst === 'string')
        .map((f) => `${str(f.mac)} dst ${str(f.dst)}`),
    );
    const pFdb = new Set(d.fdbEntries().map((f) => `${formatMac(f.mac)} dst ${formatIpv4(f.dst)}`));
    setDiff(point, `${d.name} fdb`, kFdb, pFdb, out);
  }
}

/** Compares the built kernel topology with podnet's network. */
export function checkTopology(plan: KernelPlan, net: Network): Mismatch[] {
  const out: Mismatch[] = [];
  for (const n of plan.namespaces) {
    const ns = net.world.namespaces.get(n.podnetName);
    if (ns !== undefined) checkNamespace(ns, n.name, out);
  }
  return out;
}
