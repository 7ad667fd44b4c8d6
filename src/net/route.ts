/**
 * The IPv4 FIB of one netns: the `local` table (own and broadcast addresses) consulted before
 * `main`, each a longest-prefix-match table indexed per prefix length (a hash lookup per
 * distinct length, so thousands of node routes cost no more than a handful).
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, prefixMask } from '../wire/addr.js';
import type { NetDevice } from './device.js';
import type { RouteRef } from '../events/hop.js';

/** Route types as `ip route` shows them. */
export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit';

/** Route scope (RT_SCOPE_*). */
export type RouteScope = 'host' | 'link' | 'universe';

/** One FIB entry. */
export interface Route {
  readonly table: 'local' | 'main';
  readonly type: RouteType;
  readonly dst: Ipv4Addr;
  readonly len: number;
  readonly dev: NetDevice | null;
  /** Next hop (0 = directly connected). */
  readonly gateway: Ipv4Addr;
  /** `onlink`: the gateway is reachable on dev even though no prefix on dev covers it (flannel). */
  readonly onlink: boolean;
  readonly scope: RouteScope;
  /** Preferred source address (0 = select from the device). */
  readonly prefsrc: Ipv4Addr;
  readonly proto: 'kernel' | 'static';
  /** Route MTU (0 = the device MTU). */
  readonly mtu: number;
}

/** Routes a table derives on demand. */
export interface RouteProvider {
  /** The most specific provided route covering `addr`, if any. */
  lookup(addr: Ipv4Addr): Route | undefined;
  /** Every provided route (for `ip route`-style listings). */
  all(): Route[];
}

/** A single routing table with longest-prefix match. */
export class RouteTable {
  // keys are the masked prefixes as signed int32 (small integers hash fastest in V8 Maps)
  private byLen: Array<Map<number, Route> | undefined> = new Array(33);
  private lens: number[] = [];
  private count = 0;
  /** Bumped on every change (for lookup caches). */
  version = 0;
  /**
   * Routes computed on demand instead of stored (flannel's one route per other node: on a
   * 5,000-node cluster that is 5,000 routes per node, identical in shape, so they are derived).
   */
  provider: RouteProvider | null = null;

  /** Adds a route; an existing route for the same prefix is replaced (like `ip route replace`). */
  add(r: Route): void {
    let m = this.byLen[r.len];
    if (m === undefined) {
      m = new Map();
      this.byLen[r.len] = m;
      this.lens.push(r.len);
      this.lens.sort((a, b) => b - a);
    }
    if (!m.has(r.dst | 0)) this.count++;
    m.set(r.dst | 0, r);
    this.version++;
  }

  /** Removes the route for a prefix, returning whether one existed. */
  remove(dst: Ipv4Addr, len: number): boolean {
    const m = this.byLen[len];
    if (m === undefined || !m.delete(dst | 0)) return false;
    this.count--;
    this.version++;
    return true;
  }

  /** Longest-prefix match (over stored and provided routes). */
  lookup(addr: Ipv4Addr): Route | undefined {
    const lens = this.lens;
    let found: Route | undefined;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i]!;
      const r = this.byLen[len]!.get(addr & prefixMask(len));
      if (r !== undefined) {
        found = r;
        break;
      }
    }
    if (this.provider !== null) {
      const p = this.provider.lookup(addr);
      if (p !== undefined && (found === undefined || p.len > found.len)) return p;
    }
    return found;
  }

  /** Exact-prefix lookup. */
  get(dst: Ipv4Addr, len: number): Route | undefined {
    return this.byLen[len]?.get(dst | 0);
  }

  /** Number of stored routes. */
  get size(): number {
    return this.count;
  }

  /** All routes (stored and provided), most specific first, then by address. */
  all(): Route[] {
    const rs: Route[] = [];
    for (const len of this.lens) rs.push(...this.byLen[len]!.values());
    if (this.provider !== null) rs.push(...this.provider.all());
    return rs.sort((a, b) => b.len - a.len || a.dst - b.dst);
  }
}

/** The local and main tables of a netns. */
export class Fib {
  readonly local = new RouteTable();
  readonly main = new RouteTable();
  // the result of recent lookups per destination, dropped whenever either table changes
  private cache = new Map<number, Route | null>();
  private cacheVersion = -1;

  /** Route lookup in rule order: local table, then main. */
  lookup(dst: Ipv4Addr): Route | undefined {
    const v = this.local.version * 0x100000 + this.main.version;
    if (v !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = v;
    }
    const key = dst | 0;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const r = this.local.lookup(dst) ?? this.main.lookup(dst);
    if (this.cache.size > 4096) this.cache.clear();
    this.cache.set(key, r ?? null);
    return r;
  }

  /** True when `addr` is a local address of this netns (addrtype LOCAL). */
  isLocal(addr: Ipv4Addr): boolean {
    const r = this.local.lookup(addr);
    return r !== undefined && r.type === 'local';
  }
}

/** Builds a unicast route with defaults filled in. */
export function makeRoute(p: Partial<Route> & Pick<Route, 'dst' | 'len'>): Route {
  return {
    table: p.table ?? 'main',
    type: p.type ?? 'unicast',
    dst: (p.dst & prefixMask(p.len)) >>> 0,
    len: p.len,
    dev: p.dev ?? null,
    gateway: p.gateway ?? 0,
    onlink: p.onlink ?? false,
    scope: p.scope ?? (p.gateway ? 'universe' : 'link'),
    prefsrc: p.prefsrc ?? 0,
    proto: p.proto ?? 'static',
    mtu: p.mtu ?? 0,
  };
}

const routeTexts = new WeakMap<Route, string>();

/** A route as events name it (made once per route: traces name it on every forwarded packet). */
export function routeRef(r: Route): RouteRef {
  let ref = routeRefs.get(r);
  if (ref === undefined) {
    const dst =
      r.len === 0 && r.type === 'unicast'
        ? 'default'
        : r.len === 32
          ? formatIpv4(r.dst)
          : `${formatIpv4(r.dst)}/${r.len}`;
    ref = {
      spec: formatRoute(r),
      table: r.table,
      type: r.type,
      dst,
      gateway: r.gateway ? formatIpv4(r.gateway) : undefined,
      device: r.dev?.name,
    };
    routeRefs.set(r, ref);
  }
  return ref;
}

const routeRefs = new WeakMap<Route, RouteRef>();

/** Formats a route like `ip route show` (`10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink`). */
export function formatRoute(r: Route): string {
  // routes are immutable and traces name them on every forwarded packet
  let text = routeTexts.get(r);
  if (text === undefined) routeTexts.set(r, (text = routeText(r)));
  return text;
}

function routeText(r: Route): string {
  const dst =
    r.len === 0 && r.type === 'unicast'
      ? 'default'
      : r.len === 32
        ? formatIpv4(r.dst)
        : `${formatIpv4(r.dst)}/${r.len}`;
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(dst);
  if (r.gateway) parts.push('via', formatIpv4(r.gateway));
  if (r.dev) parts.push('dev', r.dev.name);
  if (r.proto === 'kernel') parts.push('proto kernel');
  if (r.scope !== 'universe' && !(r.type === 'local' && r.scope === 'host')) parts.push('scope', r.scope);
  else if (r.type === 'local') parts.push('scope host');
  if (r.prefsrc) parts.push('src', formatIpv4(r.prefsrc));
  if (r.onlink) parts.push('onlink');
  if (r.mtu) parts.push('mtu', String(r.mtu));
  return parts.join(' ');
}
