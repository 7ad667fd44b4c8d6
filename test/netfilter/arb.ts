/**
 * fast-check arbitraries for rulesets in canonical form (what parsing an iptables-save dump
 * yields): masked addresses, types in kernel order, only option combinations iptables accepts.
 */
import fc from 'fast-check';
import { prefixMask } from '../../src/wire/addr.js';
import {
  ADDR_TYPES,
  BUILTIN_CHAINS,
  CT_STATES,
  CT_STATUSES,
  REJECT_WITH,
  builtinChain,
  makeRuleset,
  makeTable,
  rule,
  userChain,
  type Chain,
  type ConntrackMatch,
  type HeaderMatch,
  type Match,
  type PortMatch,
  type PortRange,
  type Rule,
  type Ruleset,
  type TableName,
  type Target,
} from '../../src/netfilter/rules.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const port = fc.integer({ min: 0, max: 65535 });
const bool = fc.boolean();

function subset<T>(all: readonly T[], min = 1): fc.Arbitrary<T[]> {
  return fc.subarray([...all], { minLength: min });
}

const portRange: fc.Arbitrary<PortRange> = fc
  .tuple(port, port, bool)
  .map(([a, b, single]) => (single ? { min: a, max: a } : { min: Math.min(a, b), max: Math.max(a, b) }));

/** tcp/udp: a non-inverted 0:65535 is "no test" and is not printed, so it is never generated. */
const l4Port: fc.Arbitrary<PortMatch> = fc
  .tuple(portRange, bool)
  .map(([r, invert]) => ({ ...r, invert }))
  .filter((p) => p.invert || p.min !== 0 || p.max !== 65535);

const cidr = fc
  .tuple(u32, fc.integer({ min: 0, max: 32 }))
  .map(([a, len]) => ({ addr: (a & prefixMask(len)) >>> 0, len }));

const ifaceName = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,9}$/), bool).map(([n, wild]) => (wild ? `${n}+` : n));

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});

const chainNamePool = [
  'KUBE-SERVICES',
  'KUBE-SVC-CDGGSHYLG3RE2FKL',
  'KUBE-SEP-7U6MWNJWR3SADOJA',
  'FLANNEL-FWD',
  'my_chain',
  'c1',
  'A',
  'ZED-1',
];

interface Proto {
  readonly proto: number;
  readonly invert: boolean;
}

function headerMatches(p: Proto | undefined, chain: string): fc.Arbitrary<HeaderMatch[]> {
  const noIn = chain === 'POSTROUTING' || chain === 'OUTPUT';
  const noOut = chain === 'PREROUTING' || chain === 'INPUT';
  return fc
    .record({
      src: fc.option(fc.tuple(cidr, bool), { nil: undefined }),
      dst: fc.option(fc.tuple(cidr, bool), { nil: undefined }),
      in: fc.option(fc.tuple(ifaceName, bool), { nil: undefined }),
      out: fc.option(fc.tuple(ifaceName, bool), { nil: undefined }),
      frag: fc.option(bool, { nil: undefined }),
    })
    .map((h) => {
      const out: HeaderMatch[] = [];
      const addr = (kind: 'src' | 'dst', v: [{ addr: number; len: number }, boolean] | undefined): void => {
        if (v === undefined) return;
        const [c, invert] = v;
        if (c.len === 0 && c.addr === 0 && !invert) return;
        out.push({ kind, invert, cidr: c });
      };
      const iface = (kind: 'in' | 'out', v: [string, boolean] | undefined): void => {
        if (v === undefined) return;
        const [name, invert] = v;
        const wildcard = name.endsWith('+');
        out.push({ kind, invert, name, prefix: wildcard ? name.slice(0, -1) : name, wildcard });
      };
      addr('src', h.src);
      addr('dst', h.dst);
      if (!noIn) iface('in', h.in);
      if (!noOut) iface('out', h.out);
      if (p !== undefined) out.push({ kind: 'proto', invert: p.invert, proto: p.proto });
      if (h.frag !== undefined) out.push({ kind: 'frag', invert: h.frag });
      return out;
    });
}

function optional<T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(a, { nil: undefined });
}

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const recentName = fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/);

const extensionCommon: fc.Arbitrary<Match>[] = [
  printable.map((text) => ({ kind: 'comment', text }) as Match),
  fc.record({ invert: bool, value: u32, mask: u32 }).map((m) => ({ kind: 'mark', ...m }) as Match),
  fc
    .record({ invert: bool, probability: fc.integer({ min: 0, max: 2 ** 31 }) })
    .map((m) => ({ kind: 'statistic', mode: 'random', ...m }) as Match),
  fc
    .tuple(fc.integer({ min: 1, max: 1000 }), fc.nat(), bool)
    .map(([every, p, invert]) => ({ kind: 'statistic', mode: 'nth', invert, every, packet: p % every }) as Match),
  fc
    .record({
      op: fc.constantFrom('set', 'rcheck', 'update', 'remove'),
      invert: bool,
      seconds: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 86400 })),
      reap: bool,
      hitcount: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 })),
      rttl: bool,
      name: recentName,
      mask: u32,
      side: fc.constantFrom('source', 'dest'),
    })
    .map((r) => ({
      kind: 'recent',
      ...r,
      reap: r.reap && r.seconds > 0,
      rttl: r.rttl && r.op !== 'set' && r.op !== 'remove',
    })) as fc.Arbitrary<Match>,
  fc
    .record({
      src: optional(fc.record({ types: subset(ADDR_TYPES), invert: bool })),
      dst: optional(fc.record({ types: subset(ADDR_TYPES), invert: bool })),
      limit: fc.constantFrom('none', 'in', 'out'),
    })
    .filter((a) => a.src !== undefined || a.dst !== undefined)
    .map(
      (a) =>
        withoutUndefined({
          kind: 'addrtype',
          src: a.src,
          dst: a.dst,
          limitIfaceIn: a.limit === 'in',
          limitIfaceOut: a.limit === 'out',
        }) as Match,
    ),
  fc
    .record({
      state: optional(fc.record({ states: subset(CT_STATES), invert: bool })),
      proto: optional(fc.record({ proto: fc.integer({ min: 1, max: 255 }), invert: bool })),
      origSrc: optional(fc.record({ addr: u32, len: fc.integer({ min: 0, max: 32 }), invert: bool })),
      origDst: optional(fc.record({ addr: u32, len: fc.integer({ min: 0, max: 32 }), invert: bool })),
      replSrc: optional(fc.record({ addr: u32, len: fc.integer({ min: 0, max: 32 }), invert: bool })),
      replDst: optional(fc.record({ addr: u32, len: fc.integer({ min: 0, max: 32 }), invert: bool })),
      origSrcPort: optional(fc.tuple(portRange, bool).map(([r, invert]) => ({ ...r, invert }))),
      origDstPort: optional(fc.tuple(portRange, bool).map(([r, invert]) => ({ ...r, invert }))),
      replSrcPort: optional(fc.tuple(portRange, bool).map(([r, invert]) => ({ ...r, invert }))),
      replDstPort: optional(fc.tuple(portRange, bool).map(([r, invert]) => ({ ...r, invert }))),
      status: optional(fc.record({ statuses: subset(CT_STATUSES, 0), invert: bool })),
      expire: optional(
        fc.tuple(u32, u32, bool).map(([a, b, invert]) => ({ min: Math.min(a, b), max: Math.max(a, b), invert })),
      ),
      dir: optional(fc.constantFrom('ORIGINAL', 'REPLY')),
    })
    .map((c) => withoutUndefined({ kind: 'conntrack', ...c }) as ConntrackMatch)
    .filter((c) => Object.keys(c).length > 1),
  fc
    .record({ invert: bool, states: subset(['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'] as const) })
    .map((s) => ({ kind: 'state', ...s }) as Match),
  fc
    .record({
      isIn: optional(fc.record({ invert: bool })),
      in: optional(fc.record({ name: ifaceName, invert: bool })),
      isOut: optional(fc.record({ invert: bool })),
      out: optional(fc.record({ name: ifaceName, invert: bool })),
      isBridged: optional(fc.record({ invert: bool })),
    })
    .map((p) => withoutUndefined({ kind: 'physdev', ...p }) as Match)
    .filter((p) => Object.keys(p).length > 1),
  fc.stringMatching(/^[a-z_]{1,31}$/).map((name) => ({ kind: 'nfacct', name }) as Match),
];

function protoExtensions(p: Proto | undefined): fc.Arbitrary<Match>[] {
  if (p === undefined || p.invert) return [];
  const out: fc.Arbitrary<Match>[] = [];
  if (p.proto === 6) {
    out.push(
      fc
        .record({
          sport: optional(l4Port),
          dport: optional(l4Port),
          flags: optional(
            fc
              .record({ mask: fc.integer({ min: 0, max: 63 }), cmp: fc.integer({ min: 0, max: 63 }), invert: bool })
              .filter((f) => f.mask !== 0 || f.invert),
          ),
          option: optional(fc.record({ option: fc.integer({ min: 1, max: 255 }), invert: bool })),
        })
        .map((t) => withoutUndefined({ kind: 'tcp', ...t }) as Match),
    );
  }
  if (p.proto === 17) {
    out.push(
      fc
        .record({ sport: optional(l4Port), dport: optional(l4Port) })
        .map((t) => withoutUndefined({ kind: 'udp', ...t }) as Match),
    );
  }
  if (p.proto === 132) {
    out.push(
      fc
        .record({
          sport: optional(fc.tuple(portRange, bool).map(([r, invert]) => ({ ...r, invert }))),
          dport: optional(fc.tuple(portRange, bool).map(([r, invert]) => ({ ...r, invert }))),
        })
        .map((t) => withoutUndefined({ kind: 'sctp', ...t }) as Match),
    );
  }
  if (p.proto === 1) {
    out.push(
      fc
        .tuple(fc.integer({ min: 0, max: 255 }), fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }), bool)
        .map(
          ([type, code, invert]) => ({ kind: 'icmp', invert, type, codeMin: code ?? 0, codeMax: code ?? 255 }) as Match,
        ),
    );
  }
  if ([6, 17, 132, 33, 136].includes(p.proto)) {
    out.push(
      fc
        .tuple(fc.array(portRange, { minLength: 1, maxLength: 7 }), bool, fc.constantFrom('src', 'dst', 'both'))
        .map(([ports, invert, dir]) => ({ kind: 'multiport', invert, dir, ports }) as Match),
    );
  }
  return out;
}

const natRange = fc
  .record({
    ips: optional(fc.tuple(u32, u32).map(([a, b]) => ({ min: a, max: b }))),
    ports: optional(portRange),
  })
  .filter((r) => r.ips !== undefined || r.ports !== undefined)
  .map((r) => withoutUndefined(r));

function targets(
  table: TableName,
  chain: string,
  p: Proto | undefined,
  chains: readonly string[],
): fc.Arbitrary<Target | undefined> {
  const portOk = p !== undefined && !p.invert && [6, 17, 132, 33, 1].includes(p.proto);
  const opts: fc.Arbitrary<Target | undefined>[] = [
    fc.constant(undefined),
    fc.constantFrom<Target>({ kind: 'ACCEPT' }, { kind: 'RETURN' }),
    fc.record({ value: u32, mask: u32 }).map((m) => ({ kind: 'MARK', ...m }) as Target),
    fc
      .record({
        prefix: fc.stringMatching(/^[ -~]{0,29}$/),
        level: fc.integer({ min: 0, max: 7 }),
        tcpSequence: bool,
        tcpOptions: bool,
        ipOptions: bool,
        uid: bool,
        macDecode: bool,
      })
      .map((l) => ({ kind: 'LOG', ...l }) as Target),
  ];
  if (chains.length > 0) {
    opts.push(
      fc.tuple(fc.constantFrom(...chains), bool).map(([c, g]) => ({ kind: g ? 'goto' : 'jump', chain: c }) as Target),
    );
  }
  if (table !== 'nat') {
    opts.push(fc.constant<Target>({ kind: 'DROP' }));
    opts.push(
      fc
        .constantFrom(...REJECT_WITH)
        .filter((w) => w !== 'tcp-reset' || (p?.proto === 6 && !p.invert))
        .map((w) => ({ kind: 'REJECT', with: w }) as Target),
    );
  }
  if (table === 'mangle') {
    opts.push(
      fc.oneof(
        fc.record({ value: u32, mask: u32 }).map((m) => ({ kind: 'CONNMARK', mode: 'set', ...m }) as Target),
        fc
          .record({ mode: fc.constantFrom('save', 'restore'), nfmask: u32, ctmask: u32 })
          .map((m) => ({ kind: 'CONNMARK', ...m }) as Target),
      ),
    );
  }
  if (table === 'raw') opts.push(fc.constantFrom<Target>({ kind: 'NOTRACK' }, { kind: 'CT', notrack: true }));
  if (table === 'nat') {
    const range = natRange.filter((r) => portOk || r.ports === undefined);
    const dnatOk = !BUILTIN_CHAINS.nat.includes(chain) || chain === 'PREROUTING' || chain === 'OUTPUT';
    const snatOk = !BUILTIN_CHAINS.nat.includes(chain) || chain === 'POSTROUTING' || chain === 'INPUT';
    if (dnatOk)
      opts.push(fc.record({ range, random: bool, persistent: bool }).map((t) => ({ kind: 'DNAT', ...t }) as Target));
    if (snatOk) {
      opts.push(
        fc
          .record({
            range: range.filter((r) => r.ips !== undefined),
            random: bool,
            randomFully: bool,
            persistent: bool,
          })
          .map((t) => ({ kind: 'SNAT', ...t }) as Target),
        fc
          .record({ ports: portOk ? optional(portRange) : fc.constant(undefined), random: bool, randomFully: bool })
          .map((t) => withoutUndefined({ kind: 'MASQUERADE', ...t }) as Target),
      );
    }
  }
  return fc.oneof(...opts);
}

const proto: fc.Arbitrary<Proto | undefined> = fc.option(
  fc.record({
    proto: fc.oneof(fc.constantFrom(6, 17, 1, 132, 47), fc.integer({ min: 1, max: 255 })),
    invert: fc.boolean(),
  }),
  { nil: undefined },
);

function ruleArb(table: TableName, chain: string, chains: readonly string[]): fc.Arbitrary<Rule> {
  return proto.chain((p) =>
    fc
      .tuple(
        headerMatches(p, chain),
        fc.array(fc.oneof(...extensionCommon, ...protoExtensions(p)), { maxLength: 4 }),
        targets(table, chain, p, chains),
      )
      .map(([head, ext, target]) => rule([...head, ...ext], target)),
  );
}

function tableArb(name: TableName): fc.Arbitrary<ReturnType<typeof makeTable>> {
  return fc.uniqueArray(fc.constantFrom(...chainNamePool), { maxLength: 5 }).chain((users) => {
    const chainArbs: fc.Arbitrary<Chain>[] = [
      ...BUILTIN_CHAINS[name].map((b) =>
        fc
          .tuple(
            fc.constantFrom<'ACCEPT' | 'DROP'>('ACCEPT', 'DROP'),
            fc.array(ruleArb(name, b, users), { maxLength: 4 }),
          )
          .map(([pol, rules]) => builtinChain(b, pol, rules)),
      ),
      // a user chain jumps only to the ones after it: the kernel refuses a table whose jumps loop
      ...users.map((u, i) =>
        fc.array(ruleArb(name, u, users.slice(i + 1)), { maxLength: 4 }).map((rules) => userChain(u, rules)),
      ),
    ];
    return fc.tuple(...chainArbs).map((cs) => makeTable(name, cs));
  });
}

/** A random ruleset of 1..4 tables in canonical form. */
export const rulesetArb: fc.Arbitrary<Ruleset> = fc
  .subarray(['raw', 'mangle', 'nat', 'filter'] as TableName[], { minLength: 1 })
  .chain((names) => fc.tuple(...names.map(tableArb)))
  .map((tables) => makeRuleset(tables));
