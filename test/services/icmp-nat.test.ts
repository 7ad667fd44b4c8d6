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
# it serves 7000 only: the annotation says so outright (else the Service's targetPort 7999 would listen too)
metadata: { name: backend, labels: { app: b }, annotations: { podnet.dev/listen: 7000/UDP } }
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

// found by examples/property-suite (fast-check seed 722759798): ext → NodePort, UDP, 1423 bytes
const PMTU = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec: { nodes: 2, addons: none, externalHosts: [ { name: ext, ip: 172.18.0.100 } ] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, labels: { app: web } }
spec: { nodeName: node2, containers: [ { name: web, ports: [ { name: udp-0, containerPort: 8080, protocol: UDP } ] } ] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: NodePort
  selector: { app: web }
  ports: [ { name: udp-0, port: 80, targetPort: 8080, protocol: UDP, nodePort: 31010 } ]
`;

describe('a DF datagram too big for the overlay, DNATed by a NodePort (kernel scenario m-nodeport-pmtu)', () => {
  test('the node refuses it with frag-needed quoting the NodePort (not the DNATed pod), the client learns the MTU, and its next datagram leaves in fragments and is answered', () => {
    const { sim: s, cap } = sim(PMTU);
    const r = s.probe('ext/ext', '172.18.0.2:31010', 'udp', { size: 1423, count: 2, interval: 300e6, timeout: 250e6 });
    expect(r.attempts[0]!.error).toBe('From 172.18.0.2: Frag needed and DF set (mtu = 1450)');
    expect(r.attempts[0]!.errno).toBe('EMSGSIZE');
    expect(r.attempts[1]!.ok).toBe(true);
    expect(r.attempts[1]!.answeredBy).toBe('web-0');
    // the socket's leave to fragment (IP_PMTUDISC_WANT) stayed at ext: node1 did not fragment the first one
    const firstId = layer(
      cap
        .at('ext:ext/eth0')
        .map((f) => cap.dissect(f))
        .find((d) => d.udp !== undefined)!.ip,
    ).id;
    const first = cap
      .at('node1/flannel.1')
      .map((f) => cap.dissect(f))
      .filter((d) => d.ip !== undefined && layer(d.ip).id === firstId);
    expect(first).toEqual([]);
    const errs = cap
      .at('ext:ext/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.icmp !== undefined && layer(d.icmp).type === 3);
    expect(errs).toHaveLength(1);
    const icmp = layer(errs[0]!.icmp);
    expect(layer(errs[0]!.ip).src).toBe('172.18.0.2');
    expect(icmp.code).toBe(4);
    expect(icmp.mtu).toBe(1450);
    const q = layer(icmp.quote);
    // un-DNATed by the connection nf_ct_attach gave the error, though that entry was never confirmed
    expect([q.src, q.sport, q.dst, q.dport]).toEqual(['172.18.0.100', r.attempts[0]!.sourcePort, '172.18.0.2', 31010]);
    // the second datagram: fragments from ext itself
    const frags = cap
      .at('ext:ext/eth0')
      .map((f) => cap.dissect(f))
      .filter(
        (d) =>
          d.ip !== undefined && layer(d.ip).src === '172.18.0.100' && (layer(d.ip).mf || layer(d.ip).fragOffset > 0),
      );
    expect(frags).toHaveLength(2);
  });
});
