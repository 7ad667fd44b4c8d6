/**
 * Expired conntrack entries are evicted as the kernel's gc_worker does, so a long run's table holds only live flows.
 */
import { describe, expect, test } from 'vitest';
import { model, twoNodeCluster } from '../helpers.js';
import { Simulation } from '../../src/api/simulation.js';

// the shared two-node cluster (web-0 beside the client on node1, web-1 on node2) behind one Service
const CLUSTER = twoNodeCluster(`---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  clusterIP: 10.96.0.100
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`);

describe('conntrack garbage collection', () => {
  test('3,000 connections over 300 s: node1 holds the entries still in their timeouts, not every flow it ever saw', () => {
    const s = new Simulation(model(CLUSTER), { seed: 1 });
    const r = s.probe('client', '10.96.0.100:80', 'tcp', { count: 3000, interval: 100e6, timeout: 2e9 });
    expect(r.replies).toBe(3000);
    const node1 = s.network.nodes.get('node1')!;
    const ct = node1.nf.ct;
    const now = s.now;
    const live = ct.all(now).length;
    // 10 connections a second, each kept for its TIME_WAIT (120 s) after the close handshake's states
    expect(live).toBeGreaterThan(1100);
    expect(live).toBeLessThan(2000);
    // the table itself: live entries plus those the sweep has not reached yet, never all 3,000
    expect(ct.size).toBeLessThan(live * 1.5);
  });
});
