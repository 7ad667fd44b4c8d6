/** CLI features of the Service data path: rules, --all-paths, --iptables-save, expectations. */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools } from '../tools.js';

const noIptables = missingTools('iptables-restore');
if (noIptables) console.log(`iptables-restore check skipped: ${noIptables}`);

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');

function podnet(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!existsSync(CLI))('podnet rules / trace --all-paths / --iptables-save', () => {
  test("podnet rules prints a node's iptables-save with kube-proxy's real chain names", () => {
    const r = podnet(['rules', 'topologies/clusterip.yaml', '--node', 'node2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\*mangle\n/);
    expect(r.stdout).toContain(
      '-A KUBE-SERVICES -d 10.96.0.100/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL',
    );
    expect(r.stdout).toContain('-m statistic --mode random --probability 0.33333333349');
    expect(r.stdout).toContain('-j DNAT --to-destination 10.244.2.2:8081');
    expect(r.stdout).toContain(
      '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
    );
    expect(podnet(['rules', 'topologies/clusterip.yaml', '--node', 'nosuch']).code).toBe(2);
  });

  test("podnet rules follows the Cluster's spec.kubeProxy, and iptables-restore accepts the detector rules", () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-kp-'));
    try {
      const file = join(dir, 'kp.yaml');
      for (const [detect, want] of [
        [
          '{ detectLocalMode: BridgeInterface, detectLocal: { bridgeInterface: cni0 } }',
          '-d 10.96.0.100/32 ! -i cni0 -p tcp',
        ],
        ['{ detectLocalMode: InterfaceNamePrefix, detectLocal: { interfaceNamePrefix: veth } }', '! -i veth+'],
        ['{ detectLocalMode: NodeCIDR }', '! -s 10.244.1.0/24 -d 10.96.0.100/32'],
      ] as const) {
        writeFileSync(
          file,
          `apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec:
  kubeProxy: ${detect}
---
apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec: { containers: [{ name: web, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { clusterIP: 10.96.0.100, selector: { app: web }, ports: [{ port: 80, targetPort: 8080 }] }
`,
        );
        const r = podnet(['rules', file, '--node', 'node2']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(want);
        if (noIptables === undefined) {
          const t = spawnSync('iptables-restore', ['--test'], { input: r.stdout, encoding: 'utf8' });
          expect(t.stderr, detect).toBe('');
          expect(t.status, detect).toBe(0);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(noIptables !== undefined)('the real iptables-restore --test accepts what podnet rules prints', () => {
    for (const [topo, node] of [
      ['topologies/clusterip.yaml', 'node1'],
      ['topologies/nodeport.yaml', 'node2'],
      ['topologies/affinity.yaml', 'node1'],
      ['topologies/loadbalancer.yaml', 'node2'],
    ] as const) {
      const text = podnet(['rules', topo, '--node', node]).stdout;
      const r = spawnSync('iptables-restore', ['--test'], { input: text, encoding: 'utf8' });
      expect(r.stderr, `${topo} ${node}`).toBe('');
      expect(r.status, `${topo} ${node}`).toBe(0);
    }
  });

  test('--all-paths lists every backend with its exact probability, and they sum to 1', () => {
    const r = podnet([
      'trace',
      'topologies/clusterip.yaml',
      '--from',
      'client',
      '--to',
      '10.96.0.100:80',
      '--all-paths',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      allPaths: Array<{ node: string; hook: string; paths: Array<{ probability: number; nat: string | null }> }>;
    };
    const entry = j.allPaths.find((a) => a.paths.some((p) => p.nat?.includes('DNAT')));
    expect(entry?.node).toBe('node1');
    expect(entry?.paths.map((p) => p.nat)).toEqual([
      '-j DNAT --to-destination 10.244.0.5:8080', // web-0 after CoreDNS (.2, .3) and client (.4) on node1
      '-j DNAT --to-destination 10.244.1.2:8080',
      '-j DNAT --to-destination 10.244.2.2:8081',
    ]);
    expect(entry!.paths[0]!.probability).toBe(715827883 / 2 ** 31);
    expect(entry!.paths.reduce((a, p) => a + p.probability, 0)).toBeCloseTo(1, 12);
    const text = podnet([
      'trace',
      'topologies/clusterip.yaml',
      '--from',
      'client',
      '--to',
      '10.96.0.100:80',
      '--all-paths',
    ]).stdout;
    expect(text).toContain('33.333333349 %');
  });

  test("--iptables-save replaces a node's rules with a dump; a bad dump is reported with file:line:col", () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-ipt-'));
    const dump = join(dir, 'node1.rules');
    // a hand-written node: every connection to the VIP goes to web-1 only
    writeFileSync(
      dump,
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        '-A PREROUTING -d 10.96.0.100/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.1.2:8080',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const r = podnet([
      'trace',
      'topologies/clusterip.yaml',
      '--from',
      'client',
      '--to',
      '10.96.0.100:80',
      '--count',
      '5',
      '--interval',
      '10ms',
      '--iptables-save',
      dump,
      '--node',
      'node1',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/answered by web-1/g)?.length).toBe(5);
    expect(r.stdout).toContain(
      'iptables nat/PREROUTING (bridged): PREROUTING#1 ⇒ -j DNAT --to-destination 10.244.1.2:8080',
    );
    writeFileSync(dump, '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m set --match-set foo src -j ACCEPT\nCOMMIT\n');
    const bad = podnet([
      'trace',
      'topologies/clusterip.yaml',
      '--from',
      'client',
      '--to',
      '10.96.0.100:80',
      '--iptables-save',
      dump,
      '--node',
      'node1',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/node1\.rules:3:\d+: .*set/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    writeFileSync(dump, '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
    expect(
      podnet([
        'trace',
        'topologies/clusterip.yaml',
        '--from',
        'client',
        '--to',
        '10.96.0.100:80',
        '--iptables-save',
        dump,
      ]).stderr,
    ).toContain('--iptables-save needs --node');
    rmSync(dir, { recursive: true, force: true });
  });

  test('podnet run exits 1 and names the failed expectation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-exp-'));
    const f = join(dir, 't.yaml');
    writeFileSync(
      f,
      `apiVersion: v1
kind: Pod
metadata: { name: a }
spec: { nodeName: node1, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: b }
spec: { nodeName: node2, containers: [{ name: c }] }
---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
spec:
  probes:
    - { name: wrong-ttl, from: a, to: pod/b, count: 1, expect: { ttl: 64 } }
    - { name: right-ttl, from: a, to: pod/b, count: 1, expect: { ttl: 62 } }
`,
    );
    const r = podnet(['run', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+wrong-ttl/);
    expect(r.stdout).toMatch(/ok\s+right-ttl/);
    expect(r.stdout).toContain('wrong-ttl: expected reply TTL 64, got 62');
    const j = JSON.parse(podnet(['run', f, '--json']).stdout) as { probes: Array<{ expectation: { ok: boolean } }> };
    expect(j.probes.map((p) => p.expectation.ok)).toEqual([false, true]);
    rmSync(dir, { recursive: true, force: true });
  });
});
