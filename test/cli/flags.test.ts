/** The CLI checks what it is told: units on durations, flags that apply or are errors, exit codes, repeats. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { twoNodeCluster } from '../helpers.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');

function podnet(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir, input: '' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 with exactly one line on stderr, which contains every `parts`. */
function usage(args: string[], ...parts: string[]): string {
  const r = podnet(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toContain(p);
  return lines[0]!;
}

// web-0 listens on 8080 (node1), web-1 on node2; nothing listens on 9999
const SCENARIO = `---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: { name: flags }
spec:
  probes:
    - { name: web, from: client, to: pod/web-1:8080, protocol: tcp }
    - { name: ping, from: client, to: pod/web-0, protocol: icmp, count: 1, interval: 2m }
    - { name: closed, from: client, to: pod/web-1:9999, protocol: tcp, timeout: 1500ms }
`;

let dir = '';
let topo = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'podnet-flags-'));
  topo = join(dir, 'flags.yaml');
  writeFileSync(topo, twoNodeCluster(SCENARIO));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(CLI))('podnet flags', () => {
  test('a duration without a unit is an error naming the units; m and h work', () => {
    usage(
      ['trace', topo, '--from', 'client', '--to', 'pod/web-1:8080', '--timeout', '10'],
      '--timeout',
      'no unit',
      'ms',
    );
    usage(['trace', topo, '--probe', 'web', '--interval', '5parsecs'], '--interval', '"5parsecs"', 'h');
    const r = podnet(['trace', topo, '--from', 'client', '--to', 'pod/web-1:8080', '--timeout', '2m', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result.replies).toBe(1);
    // the Scenario's `interval: 2m` loaded (it was refused before): two pings 120 s apart
    const ping = podnet(['trace', topo, '--probe', 'ping', '--count', '2', '--json']);
    expect(ping.code, ping.stderr).toBe(0);
    const t = JSON.parse(ping.stdout).result.attempts.map((a: { t: number }) => a.t);
    expect(t).toHaveLength(2);
    expect(t[1] - t[0]).toBe(120e9);
  });

  test('a YAML duration without a unit is an error at its line', () => {
    const bad = join(dir, 'bare.yaml');
    writeFileSync(bad, twoNodeCluster(SCENARIO.replace('timeout: 1500ms', 'timeout: 10')));
    const r = podnet(['validate', bad]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/bare\.yaml:\d+:\d+.*timeout.*"10" has no unit/);
  });

  test('a duration past the limit of virtual time says the limit', () => {
    usage(['trace', topo, '--probe', 'web', '--interval', '100000000s'], '--interval', '2501h', '104 days');
    usage(['trace', topo, '--probe', 'web', '--interval', '2400h', '--count', '3'], 'count 3', '104 days');
  });

  test('trace validates every flag: no negative count, no port for icmp, no capture flags without --pcap', () => {
    usage(['trace', topo, '--probe', 'web', '--count', '-1'], '--count', '1–100000', '-1');
    usage(['trace', topo, '--probe', 'web', '--count', 'many'], '--count');
    usage(['trace', topo, '--probe', 'ping', '--port', '80'], '--port', 'ICMP has no ports');
    usage(['trace', topo, '--probe', 'ping', '--sport', '4000'], '--sport');
    usage(['trace', topo, '--probe', 'web', '--size', '100'], '--size');
    usage(['trace', topo, '--probe', 'ping', '--protocol', 'udp'], '--protocol udp needs a port');
    usage(['trace', topo, '--probe', 'web', '--df', '--pmtudisc', 'want'], '--df', '--pmtudisc');
    usage(['trace', topo, '--probe', 'web', '--pcap-format', 'pcap'], '--pcap-format', '--pcap');
    usage(['trace', topo, '--probe', 'web', '--capture', 'node1/*'], '--capture', '--pcap');
    usage(['trace', topo, '--probe', 'web', '--node', 'node1'], '--node', '--iptables-save');
    usage(['trace', topo, '--probe', 'web', '--from', 'client', '--to', 'pod/web-0'], '--probe', '--from');
    usage(['run', topo, '--pcap-split', 'node'], '--pcap-split', '--pcap-dir');
  });

  test('--probe picks a Scenario probe by name, and the flags apply to it', () => {
    usage(['trace', topo, '--probe', 'nope'], 'no probe named "nope"', 'web, ping, closed');
    const r = podnet(['trace', topo, '--probe', 'ping', '--count', '3', '--interval', '10ms', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.probe).toMatchObject({ name: 'ping', protocol: 'icmp', count: 3 });
    expect(j.result.replies).toBe(3);
    // --port replaces the port written in the probe's destination: web-1 listens on 8080, not 9999
    const moved = podnet(['trace', topo, '--probe', 'closed', '--port', '8080', '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout).result).toMatchObject({ port: 8080, replies: 1 });
  });

  test('trace exits 0 when something answered and 1 when nothing did, as ping and curl', () => {
    expect(podnet(['trace', topo, '--probe', 'web']).code).toBe(0);
    const refused = podnet(['trace', topo, '--probe', 'closed']);
    expect(refused.stdout).toContain('Connection refused');
    expect(refused.code).toBe(1);
    const timedOut = podnet(['trace', topo, '--from', 'client', '--to', '10.9.9.9:80', '--timeout', '300ms']);
    expect(timedOut.code).toBe(1);
  });

  test('the help lists every command and exit code; each command documents its own', () => {
    const bare = podnet([]);
    expect(bare.code).toBe(2);
    for (const c of ['trace', 'run', 'dig', 'rules', 'validate', 'verify']) expect(bare.stderr).toContain(c);
    const top = podnet(['--help']).stdout;
    for (const c of ['podnet trace', 'podnet run', 'podnet dig', 'podnet rules', 'podnet validate', 'podnet verify'])
      expect(top).toContain(c);
    for (const code of ['0 ', '1 ', '2 ', '70 ', '77 ']) expect(top).toMatch(new RegExp(`^ {2}${code}`, 'm'));
    for (const c of ['trace', 'run', 'dig', 'rules', 'validate', 'verify']) {
      const h = podnet([c, '--help']).stdout.replace(/\s+/g, ' ');
      expect(h, c).toMatch(/Exit codes.*\b0\b.*\b2\b/);
    }
    expect(podnet(['trace', '--help']).stdout.replace(/\s+/g, ' ')).toContain('1 nothing answered');
  });

  test('a flag that takes one value, given twice, is an error', () => {
    usage(['trace', topo, '--from', 'a', '--from', 'b', '--to', 'pod/web-0'], '--from given 2 times', '"a", "b"');
    usage(['trace', topo, '--probe', 'web', '-c', '1', '-c', '2'], '--count given 2 times');
    usage(['trace', topo, '--probe', 'web', '--pcap', 'x.pcapng', '--pcap', 'y.pcapng'], '--pcap given 2 times');
    usage(['dig', 'web', topo, '--from', 'client', '--type', 'A', '--type', 'MX'], '--type given 2 times');
    // flags made to repeat still do
    const rules = podnet(['rules', topo, '--table', 'nat', '--table', 'filter']);
    expect(rules.code, rules.stderr).toBe(0);
    expect(rules.stdout).toContain('*nat');
    expect(rules.stdout).toContain('*filter');
  });
});
