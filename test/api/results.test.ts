/**
 * A flow's results are read from typed events, not from trace text: NAT bindings (with the rules
 * that chose them) and drops are recorded whether or not anyone traces, and come out the same
 * either way.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/api/simulate.js';
import { loadTopology } from '../../src/api/topology.js';
import { twoNodeCluster } from '../helpers.js';

const services = twoNodeCluster(`---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { clusterIP: 10.96.0.100, selector: { app: web }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: empty }
spec: { clusterIP: 10.96.0.101, selector: { app: nobody }, ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: nodeport }
spec: { type: NodePort, selector: { app: web }, ports: [{ port: 81, targetPort: 8080, nodePort: 30080 }] }
`);

describe('flow results without a trace', () => {
  const model = loadTopology(services, { seed: 3 });
  const flows = [
    { from: 'client', to: '10.96.0.100:80', count: 3, interval: '10ms' },
    { from: 'client', to: '10.96.0.101:80' },
    { from: 'ext/ext', to: '172.18.0.2:30080' },
  ];
  const untraced = simulate(model, { seed: 3, flows, trace: false });
  const traced = simulate(model, { seed: 3, flows });

  it('records each connection’s DNAT to a ready backend, with the rules that chose it, though nothing traced', () => {
    const f = untraced.flows[0]!;
    expect(f.traced).toBe(false);
    expect(f.hops).toEqual([]);
    expect(f.translations).toHaveLength(3);
    for (const t of f.translations) {
      expect(t.kind).toBe('DNAT');
      expect(t.from).toBe('10.96.0.100:80');
      expect(['10.244.1.2:8080', '10.244.2.2:8080']).toContain(t.to);
      // the client's node DNATs it as it enters the node (bridged from the pod's veth to cni0)
      expect(t.where).toBe('node1');
      expect(t.hook).toBe('nat/PREROUTING');
      expect(t.bridged).toBe(true);
      const last = t.rules.at(-1)!;
      expect(last.chain).toMatch(/^KUBE-SEP-/);
      expect(last.target).toBe('DNAT');
      expect(t.rules[0]!.chain).toBe('PREROUTING');
      expect(t.rules.some((r) => r.chain === 'KUBE-SERVICES' && r.comment === 'default/web:http cluster IP')).toBe(
        true,
      );
      expect(t.reply.src).toBe(t.to.split(':')[0]);
    }
    // the answering backend is the one the binding chose
    expect(f.attempts.map((a) => a.backend?.ip)).toEqual(f.translations.map((t) => t.to.split(':')[0]));
  });

  it('records the drop of a connection to a Service without endpoints (REJECT), though nothing traced', () => {
    const f = untraced.flows[1]!;
    expect(f.replied).toBe(false);
    expect(f.drops.length).toBeGreaterThan(0);
    // kube-proxy's REJECT in filter FORWARD on the client's node (the frame is bridged there)
    expect(f.drops[0]).toMatchObject({
      where: 'node1',
      reason: 'NETFILTER_DROP',
      detail: { what: 'netfilter', table: 'filter', hook: 'FORWARD' },
    });
    expect(f.drops[0]!.description).toBe('dropped by iptables filter/FORWARD');
  });

  it('records the masquerade of a NodePort connection from outside, naming the device whose address it took', () => {
    const f = untraced.flows[2]!;
    const kinds = f.translations.map((t) => t.kind);
    expect(kinds).toContain('DNAT');
    expect(kinds).toContain('MASQUERADE');
    const masq = f.translations.find((t) => t.kind === 'MASQUERADE')!;
    expect(masq.hook).toBe('nat/POSTROUTING');
    expect(masq.device).toMatch(/^(flannel\.1|cni0)$/);
    expect(masq.rules.at(-1)!.chain).toBe('KUBE-POSTROUTING');
  });

  it('gives the same translations and drops when the run is traced', () => {
    // packet ids may differ: an untraced run spares ARP broadcasts the copies nobody would act on
    const strip = <T extends { packet: number | undefined }>(xs: readonly T[]): Array<Omit<T, 'packet'>> =>
      xs.map(({ packet: _, ...rest }) => rest);
    for (let i = 0; i < flows.length; i++) {
      expect(traced.flows[i]!.traced).toBe(true);
      expect(strip(traced.flows[i]!.translations)).toEqual(strip(untraced.flows[i]!.translations));
      expect(strip(traced.flows[i]!.drops)).toEqual(strip(untraced.flows[i]!.drops));
    }
  });

  it('finds the same bindings and drops among the hop events of a traced run', () => {
    const hops = traced.flows[0]!.hops;
    const bindings = hops.filter((h) => h.kind === 'nat' && h.what === 'binding');
    expect(bindings).toHaveLength(3);
    const nf = hops.find((h) => h.kind === 'nf' && h.what === 'traversal' && h.table === 'nat');
    expect(nf).toBeDefined();
  });
});
