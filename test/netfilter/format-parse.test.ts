/**
 * Rule text: what the parser accepts and how it comes back out, one extension at a time. The
 * expected lines are what iptables-save prints for the kernel's stored form of the input.
 */
import { describe, expect, it } from 'vitest';
import {
  formatIptablesSave,
  formatParseError,
  formatRule,
  parseIptablesSave,
  saveString,
} from '../../src/netfilter/iptables-save.js';
import type { Ruleset, TableName } from '../../src/netfilter/rules.js';
import { REQUIRE_TOOLS, iptablesRestoreTest, iptablesRestoreUnavailable } from './tools.js';

function parse(text: string): Ruleset {
  const r = parseIptablesSave(text, 'test.rules');
  if ('errors' in r) throw new Error(r.errors.map(formatParseError).join('\n'));
  return r.ruleset;
}

/** Parses one rule in chain X of a table and prints it back. */
function roundTrip(line: string, table: TableName = 'filter'): string {
  const text = `*${table}\n:X - [0:0]\n:Y - [0:0]\n${line}\nCOMMIT\n`;
  const rs = parse(text);
  const x = rs.tables[table]!.chains.get('X')!;
  expect(x.rules).toHaveLength(1);
  return formatRule('X', x.rules[0]!);
}

// [input rule, expected iptables-save line, table]
const CASES: ReadonlyArray<readonly [string, string, TableName?]> = [
  // Header fields: canonical order, /32, masking, omitted wildcards.
  ['-A X -j ACCEPT -p tcp -s 10.0.0.1', '-A X -s 10.0.0.1/32 -p tcp -j ACCEPT'],
  ['-A X -s 10.244.1.5/24 -d 10.96.0.0/255.240.0.0 -j DROP', '-A X -s 10.244.1.0/24 -d 10.96.0.0/12 -j DROP'],
  ['-A X -s 0.0.0.0/0 -d 1.2.3.4 -j DROP', '-A X -d 1.2.3.4/32 -j DROP'],
  ['-A X ! -s 0.0.0.0/0 -j DROP', '-A X ! -s 0.0.0.0/0 -j DROP'],
  ['-A X ! -o flannel.1 -i cni0 -j ACCEPT', '-A X -i cni0 ! -o flannel.1 -j ACCEPT'],
  ['-A X -i + -j ACCEPT', '-A X -j ACCEPT'],
  ['-A X ! -i veth+ -j ACCEPT', '-A X ! -i veth+ -j ACCEPT'],
  ['-A X -p all -j ACCEPT', '-A X -j ACCEPT'],
  ['-A X -p gre -j ACCEPT', '-A X -p 47 -j ACCEPT'],
  ['-A X -p TCP -j ACCEPT', '-A X -p tcp -j ACCEPT'],
  ['-A X -p 17 -j ACCEPT', '-A X -p udp -j ACCEPT'],
  ['-A X ! -p icmp -j ACCEPT', '-A X ! -p icmp -j ACCEPT'],
  ['-A X -f -j DROP', '-A X -f -j DROP'],
  ['-A X ! -f -j DROP', '-A X ! -f -j DROP'],
  ['--append X --source 1.2.3.4 --jump Y', '-A X -s 1.2.3.4/32 -j Y'],
  ['-A X -g Y', '-A X -g Y'],
  // comment
  [
    '-A X -m comment --comment "kubernetes service portals" -j Y',
    '-A X -m comment --comment "kubernetes service portals" -j Y',
  ],
  ['-A X -m comment --comment simple_word-1 -j Y', '-A X -m comment --comment simple_word-1 -j Y'],
  ['-A X -m comment --comment "a\\"b\\\\c\'d" -j Y', '-A X -m comment --comment "a\\"b\\\\c\\\'d" -j Y'],
  ['-A X -m comment --comment "the pod\\\'s node" -j Y', '-A X -m comment --comment "the pod\\\'s node" -j Y'],
  ['-A X -m comment --comment "" -j Y', '-A X -m comment --comment "" -j Y'],
  [
    '-A X -m comment --comment "other traffic to ns/s:p will be dropped by KUBE-PROXY-FIREWALL"',
    '-A X -m comment --comment "other traffic to ns/s:p will be dropped by KUBE-PROXY-FIREWALL"',
  ],
  // tcp / udp / sctp
  ['-A X -p tcp --dport 80 -j ACCEPT', '-A X -p tcp -m tcp --dport 80 -j ACCEPT'],
  [
    '-A X -m comment --comment x -m tcp -p tcp -d 10.96.0.1 --dport 443 -j Y',
    '-A X -d 10.96.0.1/32 -p tcp -m comment --comment x -m tcp --dport 443 -j Y',
  ],
  ['-A X -p tcp -m tcp --dport 0:65535 -j ACCEPT', '-A X -p tcp -m tcp -j ACCEPT'],
  ['-A X -p tcp -m tcp ! --dport 0:65535 -j ACCEPT', '-A X -p tcp -m tcp ! --dport 0:65535 -j ACCEPT'],
  [
    '-A X -p tcp -m tcp ! --sport 1024: --destination-port :80 -j ACCEPT',
    '-A X -p tcp -m tcp ! --sport 1024:65535 --dport 0:80 -j ACCEPT',
  ],
  ['-A X -p tcp --syn -j ACCEPT', '-A X -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT'],
  [
    '-A X -p tcp -m tcp ! --tcp-flags ALL NONE -j DROP',
    '-A X -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE -j DROP',
  ],
  ['-A X -p tcp -m tcp --tcp-option 8 -j DROP', '-A X -p tcp -m tcp --tcp-option 8 -j DROP'],
  ['-A X -p udp -m udp --sport 0x35 -j ACCEPT', '-A X -p udp -m udp --sport 53 -j ACCEPT'],
  ['-A X -p sctp --dport 5000 -j ACCEPT', '-A X -p sctp -m sctp --dport 5000 -j ACCEPT'],
  ['-A X -p sctp -m sctp --dport 0:65535 -j ACCEPT', '-A X -p sctp -m sctp --dport 0:65535 -j ACCEPT'],
  [
    '-A X -p udp -m multiport --dports 53,1000:2000 -j ACCEPT',
    '-A X -p udp -m multiport --dports 53,1000:2000 -j ACCEPT',
  ],
  ['-A X -p tcp -m multiport ! --ports 80,443 -j ACCEPT', '-A X -p tcp -m multiport ! --ports 80,443 -j ACCEPT'],
  ['-A X -p tcp -m multiport --source-ports 1:2 -j ACCEPT', '-A X -p tcp -m multiport --sports 1:2 -j ACCEPT'],
  // icmp
  ['-A X -p icmp --icmp-type echo-request -j ACCEPT', '-A X -p icmp -m icmp --icmp-type 8 -j ACCEPT'],
  ['-A X -p icmp -m icmp --icmp-type port-unreachable -j ACCEPT', '-A X -p icmp -m icmp --icmp-type 3/3 -j ACCEPT'],
  ['-A X -p icmp -m icmp ! --icmp-type any -j ACCEPT', '-A X -p icmp -m icmp ! --icmp-type any -j ACCEPT'],
  ['-A X -p icmp -m icmp --icmp-type 11/1 -j ACCEPT', '-A X -p icmp -m icmp --icmp-type 11/1 -j ACCEPT'],
  // mark / MARK / CONNMARK
  ['-A X -m mark --mark 0x00004000/0x00004000 -j ACCEPT', '-A X -m mark --mark 0x4000/0x4000 -j ACCEPT'],
  ['-A X -m mark ! --mark 16384 -j RETURN', '-A X -m mark ! --mark 0x4000 -j RETURN'],
  ['-A X -j MARK --or-mark 0x4000', '-A X -j MARK --set-xmark 0x4000/0x4000'],
  ['-A X -j MARK --xor-mark 0x4000', '-A X -j MARK --set-xmark 0x4000/0x0'],
  ['-A X -j MARK --and-mark 0xff', '-A X -j MARK --set-xmark 0x0/0xffffff00'],
  ['-A X -j MARK --set-mark 0x1', '-A X -j MARK --set-xmark 0x1/0xffffffff'],
  ['-A X -j MARK --set-mark 0x1/0x3', '-A X -j MARK --set-xmark 0x1/0x3'],
  ['-A X -j CONNMARK --save-mark', '-A X -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff', 'mangle'],
  [
    '-A X -j CONNMARK --restore-mark --mask 0xff',
    '-A X -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff',
    'mangle',
  ],
  ['-A X -j CONNMARK --set-mark 0x1', '-A X -j CONNMARK --set-xmark 0x1/0xffffffff', 'mangle'],
  // recent
  [
    '-A X -m recent --name KUBE-SEP-6V26E5DFMAN7QINX --rcheck --seconds 10800 --reap -j Y',
    '-A X -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-6V26E5DFMAN7QINX --mask 255.255.255.255 --rsource -j Y',
  ],
  ['-A X -m recent --set -j Y', '-A X -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource -j Y'],
  [
    '-A X -m recent ! --update --hitcount 3 --rttl --rdest --mask 255.255.255.0 --name l1 -j DROP',
    '-A X -m recent ! --update --hitcount 3 --rttl --name l1 --mask 255.255.255.0 --rdest -j DROP',
  ],
  // statistic
  [
    '-A X -m statistic --mode random --probability 0.3333333333 -j Y',
    '-A X -m statistic --mode random --probability 0.33333333349 -j Y',
  ],
  [
    '-A X -m statistic --mode random ! --probability 0.5 -j Y',
    '-A X -m statistic --mode random ! --probability 0.50000000000 -j Y',
  ],
  ['-A X -m statistic --mode nth --every 3 -j Y', '-A X -m statistic --mode nth --every 3 --packet 0 -j Y'],
  [
    '-A X -m statistic --mode nth ! --every 4 --packet 2 -j Y',
    '-A X -m statistic --mode nth ! --every 4 --packet 2 -j Y',
  ],
  // addrtype
  ['-A X -m addrtype --dst-type local,broadcast -j Y', '-A X -m addrtype --dst-type LOCAL,BROADCAST -j Y'],
  [
    '-A X -m addrtype ! --src-type LOCAL --limit-iface-in -j Y',
    '-A X -m addrtype ! --src-type LOCAL --limit-iface-in -j Y',
  ],
  // conntrack / state
  [
    '-A X -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    '-A X -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  ],
  ['-A X -m conntrack --ctstate established,new -j ACCEPT', '-A X -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT'],
  [
    '-A X -m conntrack --ctdir reply --ctstatus SEEN_REPLY,ASSURED --ctorigdstport 53 --ctorigdst 10.96.0.10/32 --ctproto udp -j ACCEPT',
    '-A X -m conntrack --ctproto 17 --ctorigdst 10.96.0.10 --ctorigdstport 53 --ctstatus SEEN_REPLY,ASSURED --ctdir REPLY -j ACCEPT',
  ],
  [
    '-A X -m conntrack ! --ctorigsrc 10.244.0.0/16 --ctexpire 10:20 -j ACCEPT',
    '-A X -m conntrack ! --ctorigsrc 10.244.0.0/16 --ctexpire 10:20 -j ACCEPT',
  ],
  ['-A X -m state --state RELATED,ESTABLISHED -j ACCEPT', '-A X -m state --state RELATED,ESTABLISHED -j ACCEPT'],
  // physdev, nfacct
  ['-A X -m physdev --physdev-is-bridged -j Y', '-A X -m physdev --physdev-is-bridged -j Y'],
  [
    '-A X -m physdev --physdev-is-bridged ! --physdev-in veth+ -j Y',
    '-A X -m physdev ! --physdev-in veth+ --physdev-is-bridged -j Y',
  ],
  [
    '-A X -m conntrack --ctstate INVALID -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP',
    '-A X -m conntrack --ctstate INVALID -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP',
  ],
  // REJECT / LOG
  ['-A X -j REJECT', '-A X -j REJECT --reject-with icmp-port-unreachable'],
  ['-A X -j REJECT --reject-with host-prohib', '-A X -j REJECT --reject-with icmp-host-prohibited'],
  ['-A X -p tcp -j REJECT --reject-with tcp-reset', '-A X -p tcp -j REJECT --reject-with tcp-reset'],
  [
    '-A X -j LOG --log-prefix "drop: " --log-level debug --log-uid',
    '-A X -j LOG --log-prefix "drop: " --log-level 7 --log-uid',
  ],
  ['-A X -j LOG --log-level 4', '-A X -j LOG'],
  // NAT targets (nat table)
  [
    '-A X -p tcp -m tcp -j DNAT --to-destination 10.244.0.5:8080',
    '-A X -p tcp -m tcp -j DNAT --to-destination 10.244.0.5:8080',
    'nat',
  ],
  [
    '-A X -p udp -j DNAT --persistent --to-destination 10.0.0.1-10.0.0.3:80-90 --random',
    '-A X -p udp -j DNAT --to-destination 10.0.0.1-10.0.0.3:80-90 --random --persistent',
    'nat',
  ],
  ['-A X -j DNAT --to-destination 10.0.0.1', '-A X -j DNAT --to-destination 10.0.0.1', 'nat'],
  ['-A X -j SNAT --to-source 1.2.3.4 --random-fully', '-A X -j SNAT --to-source 1.2.3.4 --random-fully', 'nat'],
  [
    '-A X -p tcp -j MASQUERADE --to-ports 1000-2000 --random',
    '-A X -p tcp -j MASQUERADE --to-ports 1000-2000 --random',
    'nat',
  ],
  ['-A X -j MASQUERADE --random-fully', '-A X -j MASQUERADE --random-fully', 'nat'],
  // raw
  ['-A X -p udp -m udp --dport 53 -j CT --notrack', '-A X -p udp -m udp --dport 53 -j CT --notrack', 'raw'],
  ['-A X -j NOTRACK', '-A X -j NOTRACK', 'raw'],
];

describe('rules print back exactly as iptables-save prints them', () => {
  it.each(CASES.map(([input, expected, table]) => ({ input, expected, table: table ?? 'filter' })))(
    '$input',
    ({ input, expected, table }) => {
      expect(roundTrip(input, table)).toBe(expected);
      // The printed form is a fixed point.
      expect(roundTrip(expected, table)).toBe(expected);
    },
  );

  it('the printed lines are accepted by iptables-restore --test', (ctx) => {
    const why = iptablesRestoreUnavailable();
    if (why !== undefined) {
      if (REQUIRE_TOOLS) throw new Error(why);
      ctx.skip(why);
    }
    const byTable = new Map<TableName, string[]>();
    for (const [, expected, table] of CASES) {
      const t = table ?? 'filter';
      byTable.set(t, [...(byTable.get(t) ?? []), expected]);
    }
    let text = '';
    for (const [t, lines] of byTable) text += `*${t}\n:X - [0:0]\n:Y - [0:0]\n${lines.join('\n')}\nCOMMIT\n`;
    const r = iptablesRestoreTest(text);
    expect(r.stderr).toBe('');
    expect(r.ok).toBe(true);
  });
});

describe('string quoting (xtables_save_string)', () => {
  it.each([
    ['web', ' web'],
    ['a-b_c9', ' a-b_c9'],
    ['', ' ""'],
    ['default/web:http', ' "default/web:http"'],
    ['say "hi"', ' "say \\"hi\\""'],
    ["it's", ` "it\\'s"`],
    ['back\\slash', ' "back\\\\slash"'],
  ])('%j prints as %j', (s, out) => {
    expect(saveString(s)).toBe(out);
  });

  it('parses words the way iptables-restore splits them', () => {
    const rs = parse('*filter\n:X - [0:0]\n-A X -m comment --comment  "two  spaces"\t-j   ACCEPT\nCOMMIT\n');
    const r = rs.tables.filter!.chains.get('X')!.rules[0]!;
    expect(r.matches).toEqual([{ kind: 'comment', text: 'two  spaces' }]);
  });
});

describe('iptables-save layout', () => {
  const text = `*nat
:POSTROUTING ACCEPT [0:0]
:PREROUTING DROP [0:0]
:ZED - [0:0]
:ALPHA - [0:0]
-A ZED -j RETURN
-A PREROUTING -j ALPHA
-A ALPHA -j ZED
COMMIT
*filter
:INPUT ACCEPT [0:0]
COMMIT
`;

  it('prints tables in iptables-nft-save order, built-ins first, user chains sorted, rules grouped per chain', () => {
    expect(formatIptablesSave(parse(text))).toBe(`*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
*nat
:PREROUTING DROP [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:ALPHA - [0:0]
:ZED - [0:0]
-A PREROUTING -j ALPHA
-A ALPHA -j ZED
-A ZED -j RETURN
COMMIT
`);
  });

  it('prints only the requested tables, and header lines only when asked', () => {
    const out = formatIptablesSave(parse(text), { tables: ['nat'], header: 'Sun Nov 22 00:55:10 2026' });
    expect(out.split('\n')[0]).toBe('# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 22 00:55:10 2026');
    expect(out.split('\n')[1]).toBe('*nat');
    expect(out.trimEnd().split('\n').at(-1)).toBe('# Completed on Sun Nov 22 00:55:10 2026');
    expect(out).not.toContain('*filter');
  });

  it('reads and writes [packets:bytes] counters on rules and built-in policies', () => {
    const dump = `*filter
:INPUT DROP [6:606]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [6:504]
:X - [0:0]
[6:606] -A INPUT -j X
[0:0] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A X -j RETURN -c 3 180
COMMIT
`;
    const r = parseIptablesSave(dump, 'c.rules');
    if ('errors' in r) throw new Error('unexpected errors');
    const input = r.ruleset.tables.filter!.chains.get('INPUT')!;
    expect(r.counters.policy(input)).toEqual({ packets: 6, bytes: 606 });
    expect(r.counters.get(input, 0)).toEqual({ packets: 6, bytes: 606 });
    expect(r.counters.get(r.ruleset.tables.filter!.chains.get('X')!, 0)).toEqual({ packets: 3, bytes: 180 });
    expect(formatIptablesSave(r.ruleset, { counters: r.counters })).toBe(
      dump.replace('-A X -j RETURN -c 3 180', '[3:180] -A X -j RETURN'),
    );
  });

  it('skips comment lines such as the legacy-tables warning and blank lines', () => {
    const rs = parse(
      '# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n\n*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\r\n',
    );
    expect(Object.keys(rs.tables)).toEqual(['raw']);
  });
});
