/**
 * iptables-save dumps whose jumps loop: the kernel refuses such a table when it is loaded
 * (x_tables' mark_source_chains: ELOOP, iptables-restore prints "Too many links"), so podnet
 * refuses the dump when it parses it, at the jump that closes the loop, instead of failing at
 * run time.
 */
import { describe, expect, test } from 'vitest';
import { formatParseError, parseIptablesSave } from '../../src/netfilter/iptables-save.js';

function errorsOf(text: string): string[] {
  const r = parseIptablesSave(text, 'dump.rules');
  return 'errors' in r ? r.errors.map(formatParseError) : [];
}

const FILTER_HEAD = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];

describe('jump loops in an iptables-save dump', () => {
  test('INPUT → A → B → A is refused at the jump back to A, naming the loop', () => {
    const text = [
      ...FILTER_HEAD,
      ':A - [0:0]',
      ':B - [0:0]',
      '-A INPUT -j A',
      '-A A -p tcp -j B',
      '-A B -j A',
      'COMMIT',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'dump.rules:9:9: jumps loop: INPUT → A → B → A (iptables-restore refuses this table: "Too many links")',
    ]);
  });

  test('a goto to itself in nat PREROUTING is a loop too', () => {
    const text = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':SELF - [0:0]',
      '-A PREROUTING -j SELF',
      '-A SELF -p udp -g SELF',
      'COMMIT',
    ].join('\n');
    const errs = errorsOf(text);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^dump\.rules:8:19: jumps loop: PREROUTING → SELF → SELF /);
  });

  test('a loop no built-in chain reaches loads, as the kernel loads it (it never runs)', () => {
    const text = [...FILTER_HEAD, ':A - [0:0]', ':B - [0:0]', '-A A -j B', '-A B -j A', 'COMMIT'].join('\n');
    expect(errorsOf(text)).toEqual([]);
  });

  test('two paths to one chain (a diamond) are no loop', () => {
    const text = [
      ...FILTER_HEAD,
      ':A - [0:0]',
      ':B - [0:0]',
      ':C - [0:0]',
      '-A INPUT -j A',
      '-A INPUT -j B',
      '-A A -j C',
      '-A B -j C',
      '-A OUTPUT -j C',
      'COMMIT',
    ].join('\n');
    expect(errorsOf(text)).toEqual([]);
  });

  test('a chain of 20,000 chains is walked without recursion; a jump from its end back in is found', () => {
    const n = 20_000;
    const decl = Array.from({ length: n }, (_, i) => `:C${i} - [0:0]`);
    const jumps = Array.from({ length: n - 1 }, (_, i) => `-A C${i} -j C${i + 1}`);
    const ok = [...FILTER_HEAD, ...decl, '-A FORWARD -j C0', ...jumps, 'COMMIT'].join('\n');
    expect(errorsOf(ok)).toEqual([]);
    const looped = [...FILTER_HEAD, ...decl, '-A FORWARD -j C0', ...jumps, `-A C${n - 1} -j C5`, 'COMMIT'].join('\n');
    const errs = errorsOf(looped);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain(`:${FILTER_HEAD.length + n + 1 + n}:`);
    // the message shows the built-in chain and the loop, not the 5 chains before it
    expect(errs[0]).toContain(`jumps loop: FORWARD → … → C5 → C6 → `);
    expect(errs[0]).toContain(
      `C6 → C7 → C8 → … (${n - 5 - 7} more) → C${n - 3} → C${n - 2} → C${n - 1} → C5 (iptables-restore`,
    );
    expect(errs[0]!.length).toBeLessThan(300);
  });
});
