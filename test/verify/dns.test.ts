/**
 * DNS in the kernel check without root: the plan (CoreDNS agents, the gateway's resolver, the
 * /etc/netns files glibc reads), the comparer's DNS fields, and resolution in probe outcomes.
 */
import { describe, expect, test } from 'vitest';
import { Simulation } from '../../src/api/simulation.js';
import { namePrefix, planKernelTopology } from '../../src/verify/plan.js';
import type { KernelPlan } from '../../src/verify/plan.js';
import { compareAll, decodeContextFor, dnsChoiceNotes, resolversOf } from '../../src/verify/verify.js';
import { loadDefaultTopology } from '../../src/kube/load/index.js';
import { agentOutcome, parsePingOutcomes, podnetOutcomes } from '../../src/verify/probes.js';
import type { KernelProbeOutput } from '../../src/verify/kernel-run.js';
import { dnsViewFromJson, dnsViewToJson, clusterDnsView } from '../../src/apps/coredns.js';
import { dissectFrame } from '../../src/wire/dissect.js';
import type { FrameInput } from '../../src/verify/records.js';
import { asKernel, framesOf, line, scenario } from './helpers.js';

const DNS = 'q-dns-kube-dns';

function planOf(name: string): { plan: KernelPlan; sim: Simulation } {
  const model = scenario(name);
  const sim = new Simulation(model, { seed: 1 });
  const resolvers = resolversOf(sim, model.scenario?.probes ?? []);
  return { plan: planKernelTopology(sim.network, { prefix: namePrefix(7), resolvers, seed: 1 }), sim };
}

describe('the kernel plan of a DNS scenario', () => {
  test('the CoreDNS pod runs the DNS agent on port 53 and the banner server on its other ports; the gateway runs the upstream resolver', () => {
    const { plan } = planOf(DNS);
    const coredns = plan.dnsServers.find((s) => s.name === 'kube-system/coredns-0');
    expect(coredns?.ns).toBe('pnk7-pod-kube-system.coredns-0');
    expect(coredns?.config).toMatchObject({ mode: 'coredns', upstreams: ['172.18.0.1'] });
    expect(plan.servers.find((s) => s.name === 'kube-system/coredns-0')).toMatchObject({ tcp: [9153], udp: [] });
    const gw = plan.dnsServers.find((s) => s.name === 'gateway');
    expect(gw).toMatchObject({ ns: 'pnk7-gw', config: { mode: 'upstream' } });
    expect(JSON.stringify(gw?.config)).toContain('db.example.com');
  });

  test("the client's resolv.conf, hosts and nsswitch.conf are kubelet's, for glibc to read through ip netns exec", () => {
    const { plan } = planOf(DNS);
    expect(plan.etcFiles).toHaveLength(1);
    const e = plan.etcFiles[0]!;
    expect(e.ns).toBe('pnk7-pod-client');
    expect(e.files['resolv.conf']).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    expect(e.files.hosts).toBe('127.0.0.1\tlocalhost\n10.244.1.3\tclient\n');
    expect(e.files['nsswitch.conf']).toBe('hosts: files dns\n');
  });

  test('a scenario without names or CoreDNS starts no DNS agent and writes no /etc/netns file', () => {
    const { plan } = planOf('d-clusterip-tcp');
    expect(plan.dnsServers).toEqual([]);
    expect(plan.etcFiles).toEqual([]);
  });

  test("kube-dns with kubeadm's two CoreDNS pods is reported as a choice not replayed; one CoreDNS pod is not", () => {
    const notesFor = (model: ReturnType<typeof scenario>): string[] => {
      const sim = new Simulation(model, { seed: 1 });
      return dnsChoiceNotes(model, new Map([['pod/default/client', sim.resolverSetup('client', 0)]]));
    };
    expect(notesFor(scenario(DNS))).toEqual([]);
    const two = notesFor(loadDefaultTopology().model!);
    expect(two).toHaveLength(1);
    expect(two[0]).toMatch(
      /^kube-system\/kube-dns \(10\.96\.0\.10\), the nameserver names are resolved with, has 2 endpoints/,
    );
  });

  test('the agent gets the same cluster view as podnet’s CoreDNS', () => {
    const model = scenario(DNS);
    const view = clusterDnsView(model, [0x0af40203]);
    const back = dnsViewFromJson(dnsViewToJson(view));
    expect([...back.namespaces].sort()).toEqual([...view.namespaces].sort());
    expect(back.services.map((s) => `${s.namespace}/${s.name} ${s.clusterIPs.join(',')}`)).toEqual(
      view.services.map((s) => `${s.namespace}/${s.name} ${s.clusterIPs.join(',')}`),
    );
    expect(back.slices.map((s) => s.endpoints.map((e) => e.ip))).toEqual(
      view.slices.map((s) => s.endpoints.map((e) => e.ip)),
    );
  });
});

/** The first frame at `point` carrying a DNS message that `pred` accepts. */
function dnsFrame(
  frames: readonly FrameInput[],
  pred: (d: NonNullable<ReturnType<typeof dissectFrame>['dns']>) => boolean,
): number {
  return frames.findIndex((f) => {
    const d = dissectFrame(f.bytes, { vxlanPorts: [8472] }).dns;
    return d !== undefined && pred(d);
  });
}

function dnsMismatches(kernel: Map<string, FrameInput[]>, podnet: Map<string, FrameInput[]>): string[] {
  return compareAll([...podnet.keys()], kernel, podnet, decodeContextFor(scenario(DNS)))
    .flatMap((c) => c.mismatches)
    .map(line);
}

describe('DNS fields in the comparison', () => {
  test('another seed (other query ids, source ports, forward ids) still matches', () => {
    const a = framesOf(scenario(DNS), 1).frames;
    const b = framesOf(scenario(DNS), 7).frames;
    expect(dnsMismatches(asKernel(b), a)).toEqual([]);
  });

  test('an answer carrying another address is a dns.answers mismatch at that frame', () => {
    const { frames } = framesOf(scenario(DNS), 1);
    const kernel = asKernel(frames);
    const at = kernel.get('pod:client/eth0')!;
    const i = dnsFrame(at, (d) => d.qr && d.answers.some((a) => a.endsWith(' A 10.96.0.101')));
    expect(i).toBeGreaterThanOrEqual(0);
    const b = at[i]!.bytes;
    // the A record's data is the message's last four bytes (no additional records)
    b[b.length - 1] = 102;
    const ms = dnsMismatches(kernel, frames);
    expect(ms).toEqual([
      expect.stringMatching(
        new RegExp(`^pod:client/eth0 #${i + 1} field dns.answers: .*A 10\\.96\\.0\\.102 / .*A 10\\.96\\.0\\.101`),
      ),
    ]);
  });

  test('an answer whose id is not its query’s is a dns.id mismatch', () => {
    const { frames } = framesOf(scenario(DNS), 1);
    const kernel = asKernel(frames);
    const at = kernel.get('pod:client/eth0')!;
    const i = dnsFrame(at, (d) => d.qr);
    const b = at[i]!.bytes;
    const off = 14 + 20 + 8;
    b[off] = b[off]! ^ 0x5a;
    const ms = dnsMismatches(kernel, frames);
    expect(ms.length).toBeGreaterThan(0);
    expect(ms.every((m) => m.includes('dns.id'))).toBe(true);
    expect(ms[0]).toMatch(
      new RegExp(
        `^pod:client/eth0 #${i + 1} field dns.id \\(pattern\\): .*a value not seen before.* / .*the same value as`,
      ),
    );
  });
});

function kernelLine(line: Record<string, unknown>): KernelProbeOutput {
  return {
    stdout: `READY\n${JSON.stringify({ attempt: 0, ...line })}\n`,
    stderr: '',
    exitCode: 0,
    killed: false,
  } as unknown as KernelProbeOutput;
}

describe('resolution in probe outcomes', () => {
  test('the kernel agent and podnet read the same for a resolved name and for one that does not resolve', () => {
    const model = scenario(DNS);
    const run = framesOf(model, 1).run;
    const byName = new Map(run.reports.map((r) => [r.name, r]));
    const web = podnetOutcomes(byName.get('tcp-web-local')!, false);
    expect(web[0]).toBe('resolved 10.96.0.101; answered by web-0, which saw 10.244.1.3:*');
    expect(
      agentOutcome(
        kernelLine({
          ok: true,
          localPort: 41000,
          data: 'web-0 10.244.1.3 41000\n',
          error: null,
          addresses: ['10.96.0.101'],
        }),
        false,
      ),
    ).toBe(web[0]);
    const nosuch = podnetOutcomes(byName.get('tcp-nosuch')!, false);
    expect(nosuch).toEqual(['error: getaddrinfo EAI_NONAME']);
    expect(
      agentOutcome(kernelLine({ ok: false, localPort: null, data: '', error: null, gaiError: 'EAI_NONAME' }), false),
    ).toBe(nosuch[0]);
    expect(
      agentOutcome(kernelLine({ ok: false, localPort: null, data: '', error: null, gaiError: 'EAI_AGAIN' }), false),
    ).not.toBe(nosuch[0]);
  });

  test('ping that cannot resolve its destination: every sequence number gets the resolver’s error', () => {
    expect(parsePingOutcomes('', 'ping: nosuch: Name or service not known\n', 2)).toEqual([
      'error: ping: nosuch: Name or service not known',
      'error: ping: nosuch: Name or service not known',
    ]);
    // a local error is not a resolution failure
    expect(
      parsePingOutcomes(
        'PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.\n',
        'ping: local error: message too long, mtu=1450\n',
        1,
      ),
    ).toEqual(['error: local error: message too long, mtu=1450']);
  });
});
