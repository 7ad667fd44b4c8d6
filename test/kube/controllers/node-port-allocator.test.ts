/** kube-apiserver's NodePort allocator, driven directly: Services in, NodePorts and reports out. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { stableHash } from '../../../src/kube/load/controllers/generated-names.js';
import {
  allocateNodePorts,
  nodePortStaticBand,
  type NodePortRequest,
  type NodePortRequestPort,
} from '../../../src/kube/load/controllers/node-port-allocator.js';
import type { PortRangeModel } from '../../../src/kube/model.js';
import { recorder } from './helpers.js';

const RANGE: PortRangeModel = { min: 30000, max: 32767 };

type Port = NodePortRequestPort;
type Service = NodePortRequest<Port>;

function service(
  rec: ReturnType<typeof recorder>,
  key: string,
  ports: ReadonlyArray<{ name?: string; protocol?: string; port: number; nodePort?: number | undefined }>,
  over: Partial<
    Pick<Service, 'type' | 'allocateLoadBalancerNodePorts' | 'externalTrafficPolicy' | 'givenHealthCheckNodePort'>
  > = {},
): Service {
  return {
    key,
    label: `Service ${key}`,
    nameField: rec.at(key),
    ports: ports.map((p, i) => ({
      name: p.name,
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      givenNodePort: p.nodePort,
      nodePortField: rec.at(`${key} ports[${i}].nodePort`),
    })),
    type: 'NodePort',
    allocateLoadBalancerNodePorts: true,
    externalTrafficPolicy: 'Cluster',
    givenHealthCheckNodePort: undefined,
    healthCheckField: rec.at(`${key} healthCheckNodePort`),
    ...over,
  };
}

function nodePorts(r: ReturnType<typeof allocateNodePorts<Port, Service>>, s: Service): Array<number | undefined> {
  return s.ports.map((p) => r.nodePorts.get(p));
}

describe('the NodePort allocator', () => {
  test('the static band: min(max(16, size/32), 128), none for 16 ports or fewer', () => {
    expect(nodePortStaticBand(16)).toBe(0);
    expect(nodePortStaticBand(17)).toBe(16);
    expect(nodePortStaticBand(2768)).toBe(86);
    expect(nodePortStaticBand(10000)).toBe(128);
  });

  test('NodePort Services get ports of the dynamic band, at the hash of namespace/name:port/protocol; ClusterIP ones none', () => {
    const rec = recorder();
    const web = service(rec, 'shop/web', [{ name: 'http', port: 80 }]);
    const internal = service(rec, 'shop/internal', [{ port: 80 }], { type: 'ClusterIP' });
    const r = allocateNodePorts(RANGE, [web, internal]);
    const size = RANGE.max - RANGE.min + 1;
    const band = nodePortStaticBand(size);
    expect(nodePorts(r, web)).toEqual([RANGE.min + band + (stableHash('shop/web:http/TCP') % (size - band))]);
    expect(nodePorts(r, internal)).toEqual([undefined]);
    expect(rec.log).toEqual([]);
  });

  test('ports sharing a port number (53/UDP, 53/TCP) share one NodePort', () => {
    const rec = recorder();
    const dns = service(rec, 'kube-system/dns', [
      { name: 'dns', protocol: 'UDP', port: 53 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53 },
      { name: 'metrics', port: 9153 },
    ]);
    const [udp, tcp, metrics] = nodePorts(allocateNodePorts(RANGE, [dns]), dns);
    expect(udp).toBe(tcp);
    expect(metrics).not.toBe(udp);
  });

  test('given NodePorts are kept and reserved first; a later Service hashed onto one probes past it', () => {
    const rec = recorder();
    const web = service(rec, 'a/web', [{ port: 80 }]);
    const alone = nodePorts(allocateNodePorts(RANGE, [web]), web);
    const squatter = service(rec, 'b/squatter', [{ port: 1, nodePort: alone[0] }]);
    const r = allocateNodePorts(RANGE, [web, squatter]);
    expect(nodePorts(r, squatter)).toEqual(alone);
    expect(nodePorts(r, web)).toEqual([alone[0]! + 1]);
  });

  test('given NodePorts out of range or taken are errors at the second claimant; the same port number may reuse one', () => {
    const rec = recorder();
    const a = service(rec, 'x/a', [
      { name: 'u', protocol: 'UDP', port: 53, nodePort: 30053 },
      { name: 't', protocol: 'TCP', port: 53, nodePort: 30053 },
      { name: 'other', port: 80, nodePort: 30053 },
    ]);
    const b = service(rec, 'x/b', [
      { name: 'high', port: 80, nodePort: 40000 },
      { name: 'taken', port: 81, nodePort: 30053 },
    ]);
    const r = allocateNodePorts(RANGE, [a, b]);
    expect(rec.log).toEqual([
      'x/a ports[2].nodePort: error: nodePort 30053 is already used by x/a ports[0].nodePort of this Service',
      "x/b ports[0].nodePort: error: nodePort 40000 is outside the Cluster's nodePortRange 30000-32767",
      'x/b ports[1].nodePort: error: nodePort 30053 is already allocated to Service x/a (line 1)',
    ]);
    expect(nodePorts(r, a)).toEqual([30053, 30053, undefined]);
    expect([...r.refused].map((s) => s.key)).toEqual(['x/a', 'x/b']);
  });

  test('LoadBalancer: NodePorts unless allocateLoadBalancerNodePorts is false; with Local, a health-check node port', () => {
    const rec = recorder();
    const lb = service(rec, 'x/lb', [{ port: 80 }], { type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    const bare = service(rec, 'x/bare', [{ port: 80 }], { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false });
    const given = service(rec, 'x/given', [{ port: 80 }], {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      givenHealthCheckNodePort: 31000,
    });
    const r = allocateNodePorts(RANGE, [lb, bare, given]);
    expect(nodePorts(r, lb)[0]).toBeDefined();
    expect(nodePorts(r, bare)).toEqual([undefined]);
    const hc = r.healthCheckNodePorts.get(lb);
    expect(hc).toBeGreaterThanOrEqual(RANGE.min);
    expect(hc).not.toBe(nodePorts(r, lb)[0]);
    expect(r.healthCheckNodePorts.get(given)).toBe(31000);
    expect(r.healthCheckNodePorts.has(bare)).toBe(false);
  });

  test('a small range runs out with an error naming it', () => {
    const rec = recorder();
    const services = ['a', 'b', 'c'].map((n) => service(rec, `x/${n}`, [{ port: 80 }]));
    const r = allocateNodePorts({ min: 30000, max: 30001 }, services);
    expect(r.nodePorts.size).toBe(2);
    expect(rec.log).toEqual([
      "x/c: error: no free NodePort left in the Cluster's nodePortRange 30000-30001; widen spec.nodePortRange",
    ]);
  });

  test('property: in range, never one NodePort for two Services or two port numbers', () => {
    const spec = fc.array(
      fc.record({
        ports: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        lb: fc.boolean(),
      }),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(spec, fc.integer({ min: 20, max: 400 }), (services, size) => {
        const rec = recorder();
        const range = { min: 30000, max: 30000 + size - 1 };
        const reqs = services.map((s, i) =>
          service(
            rec,
            `ns/s${i}`,
            s.ports.flatMap((port) => [
              { name: `p${port}`, protocol: 'TCP', port },
              { name: `u${port}`, protocol: 'UDP', port },
            ]),
            s.lb ? { type: 'LoadBalancer', externalTrafficPolicy: 'Local' } : {},
          ),
        );
        const r = allocateNodePorts(range, reqs);
        const owner = new Map<number, string>();
        const claim = (np: number, who: string): void => {
          expect(np >= range.min && np <= range.max).toBe(true);
          const prev = owner.get(np);
          if (prev !== undefined) expect(prev).toBe(who);
          owner.set(np, who);
        };
        for (const s of reqs) {
          for (const p of s.ports) {
            const np = r.nodePorts.get(p);
            if (np !== undefined) claim(np, `${s.key}:${p.port}`);
          }
          const hc = r.healthCheckNodePorts.get(s);
          if (hc !== undefined) claim(hc, `${s.key}:hc`);
        }
      }),
    );
  });
});
