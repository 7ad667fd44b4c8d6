/** The ruleset data model: canonical rule order, layered tables, per-node counters outside the shared objects. */
import { describe, expect, it } from 'vitest';
import {
  Counters,
  builtinChain,
  flattenRuleset,
  getChain,
  isTerminalTarget,
  listChains,
  makeRuleset,
  makeTable,
  rule,
  userChain,
  type Chain,
  type Match,
  type Table,
} from '../../src/netfilter/rules.js';

const cmt: Match = { kind: 'comment', text: 'x' };
const tcp: Match = { kind: 'tcp', dport: { min: 80, max: 80, invert: false } };
const proto: Match = { kind: 'proto', invert: false, proto: 6 };
const dst: Match = { kind: 'dst', invert: false, cidr: { addr: 0x0a60_0001, len: 32 } };
const src: Match = { kind: 'src', invert: true, cidr: { addr: 0x0af4_0000, len: 16 } };

describe('rules', () => {
  it('puts header matches first in -s -d -i -o -p -f order and keeps extension order (the kernel evaluation order)', () => {
    const r = rule([cmt, tcp, proto, dst, src], { kind: 'jump', chain: 'KUBE-MARK-MASQ' });
    expect(r.matches).toEqual([src, dst, proto, cmt, tcp]);
  });

  it('keeps an already canonical match array as is (no copy)', () => {
    const ms = [src, dst, proto, cmt, tcp];
    expect(rule(ms, undefined).matches).toBe(ms);
  });

  it('rejects a header match given twice', () => {
    expect(() => rule([dst, cmt, dst], undefined)).toThrow(/two "dst" matches/);
  });

  it('knows which targets end the chain traversal', () => {
    expect(
      isTerminalTarget({ kind: 'DNAT', range: { ips: { min: 1, max: 1 } }, random: false, persistent: false }),
    ).toBe(true);
    expect(isTerminalTarget({ kind: 'MARK', value: 1, mask: 1 })).toBe(false);
    expect(isTerminalTarget({ kind: 'jump', chain: 'X' })).toBe(false);
    expect(
      isTerminalTarget({
        kind: 'LOG',
        prefix: '',
        level: 4,
        tcpSequence: false,
        tcpOptions: false,
        ipOptions: false,
        uid: false,
        macDecode: false,
      }),
    ).toBe(false);
  });
});

describe('tables', () => {
  it('adds missing built-in chains with policy ACCEPT and lists built-ins in kernel order, then user chains by name', () => {
    const t = makeTable('nat', [
      userChain('ZED', []),
      builtinChain('POSTROUTING', 'ACCEPT', []),
      userChain('ALPHA', []),
    ]);
    expect(listChains(t).map((c) => c.name)).toEqual(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', 'ALPHA', 'ZED']);
  });

  it('rejects duplicate chains and wrong built-in flags', () => {
    expect(() => makeTable('filter', [userChain('A', []), userChain('A', [])])).toThrow(/twice/);
    expect(() => makeTable('filter', [userChain('INPUT', [])])).toThrow(/built-in/);
    expect(() => makeTable('raw', [builtinChain('INPUT', 'ACCEPT', [])])).toThrow(/not a built-in/);
  });

  it('looks chains up in the node layer first, then in the shared layer', () => {
    const sharedExt = userChain('KUBE-EXT-X', []);
    const nodeExt = userChain('KUBE-EXT-X', [rule([], { kind: 'jump', chain: 'KUBE-SVL-X' })]);
    const shared = new Map<string, Chain>([
      ['INPUT', builtinChain('INPUT', 'ACCEPT', [])],
      ['FORWARD', builtinChain('FORWARD', 'ACCEPT', [])],
      ['OUTPUT', builtinChain('OUTPUT', 'ACCEPT', [])],
      ['KUBE-EXT-X', sharedExt],
      ['KUBE-SVC-X', userChain('KUBE-SVC-X', [])],
    ]);
    const t: Table = { name: 'filter', chains: new Map([['KUBE-EXT-X', nodeExt]]), shared };
    expect(getChain(t, 'KUBE-EXT-X')).toBe(nodeExt);
    expect(getChain(t, 'KUBE-SVC-X')).toBe(shared.get('KUBE-SVC-X'));
    expect(getChain(t, 'NOPE')).toBeUndefined();
    expect(listChains(t).map((c) => c.name)).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'KUBE-EXT-X', 'KUBE-SVC-X']);
    const flat = flattenRuleset(makeRuleset([t])).tables.filter!;
    expect(flat.shared).toBeUndefined();
    expect(flat.chains.get('KUBE-EXT-X')).toBe(nodeExt);
  });
});

describe('counters', () => {
  it('count per node, per (chain, rule index), even when one Rule object is shared by several chains', () => {
    const shared = rule([cmt], { kind: 'jump', chain: 'KUBE-PROXY-FIREWALL' });
    const input = builtinChain('INPUT', 'ACCEPT', [shared]);
    const output = builtinChain('OUTPUT', 'DROP', [shared]);
    const node1 = new Counters();
    const node2 = new Counters();
    node1.hit(input, 0, 60);
    node1.hit(input, 0, 40);
    node1.hit(output, 0, 52);
    node1.hitPolicy(output, 52);
    node2.hit(input, 0, 1500);
    expect(node1.get(input, 0)).toEqual({ packets: 2, bytes: 100 });
    expect(node1.get(output, 0)).toEqual({ packets: 1, bytes: 52 });
    expect(node1.policy(output)).toEqual({ packets: 1, bytes: 52 });
    expect(node1.policy(input)).toEqual({ packets: 0, bytes: 0 });
    expect(node2.get(input, 0)).toEqual({ packets: 1, bytes: 1500 });
    expect(node2.get(output, 0)).toEqual({ packets: 0, bytes: 0 });
    expect([...node1.chains()]).toEqual([input, output]);
    node1.clear();
    expect(node1.get(input, 0)).toEqual({ packets: 0, bytes: 0 });
    // The shared objects were never touched.
    expect(Object.keys(shared)).toEqual(['matches', 'target']);
  });
});
