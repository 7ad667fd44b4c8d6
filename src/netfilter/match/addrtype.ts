/** `-m addrtype` (libxt_addrtype, xt_addrtype): the route type of the source or destination address. */
import type { Ipv4Addr } from '../../wire/addr.js';
import type { NetDevice } from '../../net/device.js';
import type { NetNs } from '../../net/netns.js';
import { Fail, O0, O1I, inv, nameList, type ExtParser, type MatchExtension, type Tok } from '../extension.js';

/** Route types of the addrtype match, in the kernel's RTN_* order. */
export const ADDR_TYPES = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
] as const;
/** A route type name. */
export type AddrType = (typeof ADDR_TYPES)[number];

/** One side of an addrtype match: the types are kept in {@link ADDR_TYPES} order. */
export interface AddrTypeSel {
  readonly types: readonly AddrType[];
  readonly invert: boolean;
}

/** `-m addrtype`. */
export interface AddrTypeMatch {
  readonly kind: 'addrtype';
  readonly src?: AddrTypeSel;
  readonly dst?: AddrTypeSel;
  readonly limitIfaceIn: boolean;
  readonly limitIfaceOut: boolean;
}

/** inet_dev_addr_type: the address's type in the netns's routes (limited to `dev`'s local addresses when given). */
function addrTypeIs(ns: NetNs, addr: Ipv4Addr, types: readonly AddrType[], dev: NetDevice | null): boolean {
  let type: AddrType;
  if (addr >>> 28 === 0xe) type = 'MULTICAST';
  else if (addr === 0xffffffff) type = 'BROADCAST';
  else {
    const r = ns.fib.local.lookup(addr);
    if (r !== undefined && (dev === null || r.dev === dev || r.type !== 'local')) {
      type = r.type === 'local' ? 'LOCAL' : r.type === 'broadcast' ? 'BROADCAST' : 'UNICAST';
    } else {
      const m = ns.fib.main.lookup(addr);
      type =
        m === undefined
          ? 'UNREACHABLE'
          : m.type === 'blackhole'
            ? 'BLACKHOLE'
            : m.type === 'unreachable'
              ? 'UNREACHABLE'
              : m.type === 'prohibit'
                ? 'PROHIBIT'
                : 'UNICAST';
    }
  }
  return types.includes(type);
}

/** The addrtype module. */
export const addrtype: MatchExtension<AddrTypeMatch> = {
  name: 'addrtype',
  parser(at: Tok): ExtParser<AddrTypeMatch> {
    let src: AddrTypeSel | undefined;
    let dst: AddrTypeSel | undefined;
    let limitIfaceIn = false;
    let limitIfaceOut = false;
    return {
      opts: { 'src-type': O1I, 'dst-type': O1I, 'limit-iface-in': O0, 'limit-iface-out': O0 },
      apply(o, [t], invert, tok) {
        switch (o) {
          case 'src-type':
            src = { types: nameList<AddrType>(t!, ADDR_TYPES, 'address type'), invert };
            break;
          case 'dst-type':
            dst = { types: nameList<AddrType>(t!, ADDR_TYPES, 'address type'), invert };
            break;
          case 'limit-iface-in':
            if (limitIfaceOut)
              throw new Fail(tok.col, 'addrtype: --limit-iface-in and --limit-iface-out are exclusive');
            limitIfaceIn = true;
            break;
          case 'limit-iface-out':
            if (limitIfaceIn) throw new Fail(tok.col, 'addrtype: --limit-iface-in and --limit-iface-out are exclusive');
            limitIfaceOut = true;
            break;
        }
      },
      finish() {
        if (src === undefined && dst === undefined)
          throw new Fail(at.col, 'addrtype: you must specify --src-type or --dst-type');
        return {
          kind: 'addrtype',
          ...(src !== undefined ? { src } : {}),
          ...(dst !== undefined ? { dst } : {}),
          limitIfaceIn,
          limitIfaceOut,
        };
      },
    };
  },
  print(m) {
    let s = ' -m addrtype';
    if (m.src !== undefined) s += `${inv(m.src.invert)} --src-type ${m.src.types.join(',')}`;
    if (m.dst !== undefined) s += `${inv(m.dst.invert)} --dst-type ${m.dst.types.join(',')}`;
    if (m.limitIfaceIn) s += ' --limit-iface-in';
    if (m.limitIfaceOut) s += ' --limit-iface-out';
    return s;
  },
  evaluate(m, ctx) {
    const st = ctx.state;
    const ns = st.nf.ns;
    if (m.src && addrTypeIs(ns, ctx.src, m.src.types, m.limitIfaceIn ? st.in : null) === m.src.invert) return false;
    if (m.dst && addrTypeIs(ns, ctx.dst, m.dst.types, m.limitIfaceOut ? st.out : null) === m.dst.invert) return false;
    return true;
  },
};
