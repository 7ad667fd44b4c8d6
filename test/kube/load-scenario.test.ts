/** Scenario documents: probe defaults, endpoint normalisation and reference checks. */
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';
import type { ProbeModel } from '../../src/kube/model.js';

const BASE = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: demo }
spec:
  externalHosts: [{ name: ext, ip: 172.18.0.100 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec: { nodeName: node1, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-1 }
spec: { nodeName: node2, containers: [{ name: w }] }
---
apiVersion: v1
kind: Pod
metadata: { name: api, namespace: shop }
spec: { containers: [{ name: a }] }
---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: { name: basics }
spec:
`;

function probes(spec: string): ProbeModel[] {
  const r = loadTopologyText(BASE + spec, 's.yaml');
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return [...(r.model.scenario?.probes ?? [])];
}

function errors(spec: string): string[] {
  return loadTopologyText(BASE + spec, 's.yaml')
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

describe('probe defaults', () => {
  test('icmp: count 3, size 56, pmtudisc want, interval 1s, start 0, timeout 2s, name icmp-<index>', () => {
    const [p] = probes('  probes:\n    - { from: client, to: pod/web-1 }\n');
    expect(p).toEqual({
      name: 'icmp-0',
      from: 'pod/default/client',
      to: 'pod/web-1',
      protocol: 'icmp',
      port: undefined,
      sourcePort: undefined,
      count: 3,
      size: 56,
      pmtudisc: 'want',
      interval: 1_000_000_000,
      start: 0,
      timeout: 2_000_000_000,
      source: { file: 's.yaml', line: 27, col: 7 },
    });
  });

  test('a port (in `port` or in `to`) makes the protocol tcp; udp gets size 6 ("probe\\n"), tcp sends none, both count 1', () => {
    const ps = probes(`  probes:
    - { from: client, to: pod/web-1:8080 }
    - { from: client, to: 10.244.1.2, port: 8080 }
    - { from: client, to: pod/web-1:53, protocol: udp }
    - { from: client, to: pod/web-1, protocol: UDP, port: 53 }
`);
    expect(ps.map((p) => [p.name, p.protocol, p.port, p.count, p.size])).toEqual([
      ['tcp-0', 'tcp', 8080, 1, 0],
      ['tcp-1', 'tcp', 8080, 1, 0],
      ['udp-2', 'udp', 53, 1, 6],
      ['udp-3', 'udp', 53, 1, 6],
    ]);
    expect(ps[0]?.to).toBe('pod/web-1:8080');
  });

  test('df sugar and pmtudisc', () => {
    const ps = probes(`  probes:
    - { from: client, to: pod/web-1, df: true }
    - { from: client, to: pod/web-1, df: false }
    - { from: client, to: pod/web-1, pmtudisc: dont }
    - { from: client, to: pod/web-1, pmtudisc: do }
`);
    expect(ps.map((p) => p.pmtudisc)).toEqual(['do', 'dont', 'dont', 'do']);
  });

  test('explicit values and the scenario duration are kept', () => {
    const r = loadTopologyText(
      BASE +
        `  duration: 10s
  probes:
    - name: udp-pinned
      from: client
      to: 10.244.1.2:5353
      protocol: udp
      sourcePort: 40001
      count: 5
      size: 1000
      interval: 200ms
      start: 1.5s
      timeout: 500us
`,
      's.yaml',
    );
    expect(r.model?.scenario?.duration).toBe(10_000_000_000);
    expect(r.model?.scenario?.name).toBe('basics');
    expect(r.model?.scenario?.probes[0]).toMatchObject({
      name: 'udp-pinned',
      sourcePort: 40001,
      count: 5,
      size: 1000,
      interval: 200_000_000,
      start: 1_500_000_000,
      timeout: 500_000,
    });
  });
});

describe('endpoints', () => {
  test('from is normalised to pod/<ns>/<name>, node/<name> or ext/<name>', () => {
    const ps = probes(`  probes:
    - { from: client, to: pod/web-1 }
    - { from: default/client, to: pod/default/web-1 }
    - { from: shop/api, to: pod/web-1 }
    - { from: pod/client, to: pod/shop/api }
    - { from: pod/shop/api, to: 10.244.0.2 }
    - { from: node/node2, to: pod/web-1 }
    - { from: ext/ext, to: pod/web-1 }
`);
    expect(ps.map((p) => p.from)).toEqual([
      'pod/default/client',
      'pod/default/client',
      'pod/shop/api',
      'pod/default/client',
      'pod/shop/api',
      'node/node2',
      'ext/ext',
    ]);
    expect(ps.map((p) => p.to)).toEqual([
      'pod/web-1',
      'pod/default/web-1',
      'pod/web-1',
      'pod/shop/api',
      '10.244.0.2',
      'pod/web-1',
      'pod/web-1',
    ]);
  });

  test('references to missing pods, nodes and hosts are errors at the field, with hints', () => {
    const errs = errors(`  probes:
    - { from: api, to: pod/api }
    - { from: node/node7, to: pod/web-1 }
    - { from: ext/nope, to: pod/web-1 }
`);
    expect(errs).toEqual([
      's.yaml:27:15: error: Scenario basics: spec.probes[0].from: source Pod default/api does not exist (did you mean shop/api?)',
      's.yaml:27:24: error: Scenario basics: spec.probes[0].to: destination Pod default/api does not exist (did you mean pod/shop/api?)',
      's.yaml:28:15: error: Scenario basics: spec.probes[1].from: source node "node7" does not exist (nodes: node1, node2)',
      's.yaml:29:15: error: Scenario basics: spec.probes[2].from: source external host "nope" does not exist (external hosts: ext)',
    ]);
  });

  test('malformed endpoints and ports are syntax errors', () => {
    const errs = errors(`  probes:
    - { from: "a/b/c", to: pod/web-1 }
    - { from: client, to: "pod/web-1:99999" }
    - { from: client, to: "10.244.1.300" }
    - { from: client, to: pod/web-1, sourcePort: 0, protocol: tcp, port: 1 }
    - { from: client, to: pod/web-1, sourcePort: 4000 }
    - { from: client, to: pod/web-1, size: 70000 }
    - { name: dup, from: client, to: pod/web-1 }
    - { name: dup, from: client, to: pod/web-1 }
    - { from: client, to: pod/web-1:8080, size: 10 }
`).join('\n');
    expect(errs).toContain('spec.probes[8].size: size is not allowed for tcp probes');
    expect(errs).toContain(
      'spec.probes[0].from: expected <pod>, <namespace>/<pod>, pod/<pod>, pod/<namespace>/<pod>, node/<node> or ext/<host>, got "a/b/c"',
    );
    expect(errs).toContain('spec.probes[1].to: port 99999 is outside 1–65535 in "pod/web-1:99999"');
    expect(errs).toContain(
      'spec.probes[2].to: expected <ip>, <ip>:<port>, pod/<pod>, pod/<namespace>/<pod>, node/<node> or ext/<host>, optionally followed by :<port>, got "10.244.1.300"',
    );
    expect(errs).toContain('spec.probes[3].sourcePort: expected an integer 1–65535, got 0');
    expect(errs).toContain('spec.probes[4].sourcePort: sourcePort is not allowed for icmp probes');
    expect(errs).toContain('spec.probes[5].size: expected an integer 0–65507, got 70000');
    expect(errs).toContain('spec.probes[7].name: duplicate probe name "dup" (also spec.probes[6])');
  });
});
