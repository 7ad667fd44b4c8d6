/** Errors: every problem is reported with file:line:col and the offending word, all in one pass. */
import { describe, expect, it } from 'vitest';
import { formatParseError, parseIptablesSave } from '../../src/netfilter/iptables-save.js';
import { SUPPORTED_MATCHES } from '../../src/netfilter/rules.js';

function errors(text: string, file = 'node1.rules'): string[] {
  const r = parseIptablesSave(text, file);
  if (!('errors' in r)) return [];
  return r.errors.map(formatParseError);
}

const HEAD = '*filter\n:INPUT ACCEPT [0:0]\n:KUBE-X - [0:0]\n';

describe('parse errors name line, column and the unknown word', () => {
  it.each([
    [
      'unknown match',
      `${HEAD}-A KUBE-X -s 10.0.0.1 -m set --match-set foo src -j DROP\nCOMMIT\n`,
      `node1.rules:4:23: unknown match "-m set" (podnet supports: ${SUPPORTED_MATCHES.join(', ')})`,
    ],
    [
      'unknown target',
      `${HEAD}-A KUBE-X -p tcp -j TPROXY --on-port 1\nCOMMIT\n`,
      'node1.rules:4:21: unknown target "-j TPROXY" (podnet supports: ACCEPT, CONNMARK, CT, DNAT, DROP, LOG, MARK, MASQUERADE, NOTRACK, REJECT, RETURN, SNAT and jumps to user chains)',
    ],
    [
      'bad address',
      `${HEAD}-A KUBE-X -d 10.0.0.300 -j DROP\nCOMMIT\n`,
      'node1.rules:4:14: bad address "10.0.0.300" (podnet takes a dotted IPv4 address, optionally /len; no host names or lists)',
    ],
    [
      'bad prefix length',
      `${HEAD}-A KUBE-X -s 10.0.0.0/33 -j DROP\nCOMMIT\n`,
      'node1.rules:4:14: bad prefix length in address "10.0.0.0/33"',
    ],
    [
      'missing COMMIT',
      `${HEAD}-A KUBE-X -j DROP\n`,
      'node1.rules:5:1: COMMIT expected at end of file (table filter started on line 1)',
    ],
    [
      'rule before table',
      '-A INPUT -j ACCEPT\n*filter\nCOMMIT\n',
      'node1.rules:1:1: rule or chain line before any *table line',
    ],
    [
      'rule in an undeclared chain',
      `${HEAD}-A KUBE-Y -j DROP\nCOMMIT\n`,
      'node1.rules:4:4: chain "KUBE-Y" is not declared in table filter (add ":KUBE-Y - [0:0]")',
    ],
    [
      'jump to an undeclared chain',
      `${HEAD}-A INPUT -j KUBE-NOPE\nCOMMIT\n`,
      'node1.rules:4:13: jump to undeclared chain "KUBE-NOPE" in table filter',
    ],
    [
      'duplicate chain declaration',
      `${HEAD}:KUBE-X - [0:0]\nCOMMIT\n`,
      'node1.rules:4:2: chain KUBE-X declared twice in table filter',
    ],
    ['unknown option', `${HEAD}-A INPUT --dport 80 -j ACCEPT\nCOMMIT\n`, 'node1.rules:4:10: unknown option "--dport"'],
    [
      'option of the wrong protocol',
      `${HEAD}-A INPUT -p udp --syn -j ACCEPT\nCOMMIT\n`,
      'node1.rules:4:17: unknown option "--syn"',
    ],
    [
      'tcp match without -p tcp',
      `${HEAD}-A INPUT -m tcp --dport 80 -j ACCEPT\nCOMMIT\n`,
      'node1.rules:4:10: -m tcp needs -p tcp (without "!")',
    ],
    [
      'DNAT outside the nat table',
      `${HEAD}-A KUBE-X -j DNAT --to-destination 1.2.3.4\nCOMMIT\n`,
      'node1.rules:4:14: DNAT is only valid in the nat table',
    ],
    [
      'NAT port without a port protocol',
      '*nat\n:X - [0:0]\n-A X -j DNAT --to-destination 1.2.3.4:80\nCOMMIT\n',
      'node1.rules:3:31: Need TCP, UDP, SCTP or DCCP with port specification',
    ],
    [
      'bad probability',
      `${HEAD}-A KUBE-X -m statistic --mode random --probability 1.5 -j DROP\nCOMMIT\n`,
      'node1.rules:4:52: bad probability "1.5" (a number 0..1)',
    ],
    [
      'random mode without probability',
      `${HEAD}-A KUBE-X -m statistic --mode random -j DROP\nCOMMIT\n`,
      'node1.rules:4:11: --probability must be specified when using random mode',
    ],
    [
      'unknown table',
      '*security\nCOMMIT\n',
      'node1.rules:1:2: unknown table "security" (podnet models raw, mangle, nat, filter)',
    ],
    [
      'unterminated quote',
      `${HEAD}-A KUBE-X -m comment --comment "oops -j DROP\nCOMMIT\n`,
      'node1.rules:4:32: unterminated double quote',
    ],
    [
      '"!" before -m',
      `${HEAD}-A KUBE-X ! -m comment --comment x\nCOMMIT\n`,
      'node1.rules:4:11: unexpected ! flag before --match',
    ],
    [
      '"!" where not allowed',
      `${HEAD}-A KUBE-X -m comment ! --comment x\nCOMMIT\n`,
      'node1.rules:4:22: "!" is not allowed before --comment',
    ],
    [
      'option given twice',
      `${HEAD}-A KUBE-X -p tcp --dport 1 --dport 2 -j DROP\nCOMMIT\n`,
      'node1.rules:4:28: tcp: option "--dport" given twice',
    ],
    [
      'service name as port',
      `${HEAD}-A KUBE-X -p tcp --dport http -j DROP\nCOMMIT\n`,
      'node1.rules:4:26: bad port "http" in "http" (podnet takes port numbers 0..65535, not service names)',
    ],
    [
      'other iptables commands',
      `${HEAD}-I INPUT 1 -j ACCEPT\nCOMMIT\n`,
      'node1.rules:4:1: unsupported command "-I" (an iptables-save dump has only -A rules)',
    ],
    [
      'policy on a user chain',
      '*filter\n:KUBE-X ACCEPT [0:0]\nCOMMIT\n',
      'node1.rules:2:9: user chain KUBE-X cannot have a policy ("ACCEPT"); expected "-"',
    ],
    [
      'bad built-in policy',
      '*filter\n:INPUT REJECT [0:0]\nCOMMIT\n',
      'node1.rules:2:8: bad policy "REJECT" for built-in chain INPUT (ACCEPT or DROP)',
    ],
    [
      'chain named like a target',
      '*filter\n:DNAT - [0:0]\nCOMMIT\n',
      'node1.rules:2:2: chain name "DNAT" clashes with a target name',
    ],
    [
      'jump to a built-in chain',
      `${HEAD}-A KUBE-X -j INPUT\nCOMMIT\n`,
      'node1.rules:4:14: cannot jump to built-in chain INPUT',
    ],
    [
      'unknown ICMP type',
      `${HEAD}-A KUBE-X -p icmp --icmp-type bogus -j DROP\nCOMMIT\n`,
      'node1.rules:4:31: unknown ICMP type "bogus"',
    ],
    [
      '-i on an outgoing chain',
      `${HEAD}-A OUTPUT -i eth0 -j DROP\nCOMMIT\n`,
      "node1.rules:4:11: Can't use -i with OUTPUT",
    ],
    [
      'DROP in the nat table',
      '*nat\n:X - [0:0]\n-A X -j DROP\nCOMMIT\n',
      'node1.rules:3:9: the "nat" table is not intended for filtering, the use of DROP is therefore inhibited',
    ],
    [
      'bad counters',
      '*filter\n:INPUT ACCEPT [x:0]\nCOMMIT\n',
      'node1.rules:2:15: chain INPUT: bad counters "[x:0]" (expected [packets:bytes])',
    ],
  ])('%s', (_name, text, expected) => {
    expect(errors(text)).toEqual([expected]);
  });

  it('reports the example from the brief at line 42, column 37', () => {
    const filler = Array.from({ length: 38 }, (_, i) => `-A KUBE-X -m comment --comment "rule ${i}" -j RETURN`).join(
      '\n',
    );
    const text = `${HEAD}${filler}\n-A KUBE-X ! -s 10.244.0.0/16 -p udp -m set --match-set x dst -j DROP\nCOMMIT\n`;
    expect(errors(text)[0]).toMatch(/^node1\.rules:42:37: unknown match "-m set" \(podnet supports: /);
  });

  it('collects every error of the file in one pass', () => {
    const text = [
      '-A INPUT -j ACCEPT',
      '*filter',
      ':KUBE-X - [0:0]',
      '-A KUBE-X -m set --match-set a src -j DROP',
      '-A KUBE-X -d 1.2.3 -j DROP',
      '-A KUBE-X -j KUBE-MISSING',
      '-A KUBE-X -j ACCEPT',
      '',
    ].join('\n');
    expect(errors(text).map((e) => e.split(': ')[0])).toEqual([
      'node1.rules:1:1',
      'node1.rules:4:11',
      'node1.rules:5:14',
      'node1.rules:6:14',
      'node1.rules:8:1',
    ]);
  });

  it('does not report errors for a valid file', () => {
    expect(errors(`${HEAD}-A KUBE-X -j RETURN\nCOMMIT\n`)).toEqual([]);
  });
});
