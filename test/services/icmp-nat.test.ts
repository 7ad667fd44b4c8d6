import { describe, expect, test } from 'vitest';
import { layer, sim } from '../helpers.js';

const CLUSTER = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec: { nodes: 2, addons: none }
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec: { nodeName: node1, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: backend, labels: { app: b } }
spec: { nodeName: node2, containers: [{ name: b, ports: [{ containerPort: 7000, protocol: UDP }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: udp }
spec:
  clusterIP: 10.96.0.50
  selector: { app: b }
  ports:
    - { name: open, port: 7000, protocol: UDP, targetPort: 7000 }
    - { name: closed, port: 7001, protocol: UDP, targetPort: 7999 }
`;

describe('ICMP errors about NATed flows are translated (RELATED)', () => {
  test('a port unreachable from the backend reaches the client as coming from the ClusterIP, quoting the packet the client sent', () => {
    const { sim: s, cap } = sim(CLUSTER);
    const ok = s.probe('client', '10.96.0.50:7000', 'udp');
    expect(ok.attempts[0]!.answeredBy).toBe('backend');
    const r = s.probe('client', '10.96.0.50:7001', 'udp', { sourcePort: 40000 });
    expect(r.attempts[0]!.error).toBe('From 10.96.0.50: Destination Port Unreachable');
    const errs = cap
      .at('pod:client/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.icmp && layer(d.icmp).type === 3);
    expect(errs).toHaveLength(1);
    const e = errs[0]!;
    expect([layer(e.ip).src, layer(e.ip).dst]).toEqual(['10.96.0.50', '10.244.0.2']);
    expect(layer(e.icmp).checksumOk).toBe(true);
    const q = layer(layer(e.icmp).quote);
    expect([q.src, q.dst, q.sport, q.dport]).toEqual(['10.244.0.2', '10.96.0.50', 40000, 7001]);
    // at the backend the same error still quotes the DNATed packet
    const atBackend = cap
      .at('pod:backend/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.icmp && layer(d.icmp).type === 3);
    const qb = layer(layer(atBackend[0]!.icmp).quote);
    expect([qb.dst, qb.dport]).toEqual(['10.244.1.2', 7999]);
  });
});
