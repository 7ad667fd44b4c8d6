/** The kernel topology plan, derived from podnet's built network, and the small parsers: no root needed. */
import { describe, expect, test } from 'vitest';
import { loadDefaultTopology } from '../../src/kube/load/index.js';
import { Simulation } from '../../src/api/simulation.js';
import {
  ConfinementError,
  assertStepConfined,
  formatPlanScript,
  namePrefix,
  planKernelTopology,
} from '../../src/verify/plan.js';
import type { KernelPlan } from '../../src/verify/plan.js';
import { parseTcpdumpStats, tcpdumpArgv, captureFileName } from '../../src/verify/capture.js';
import { pingOutcomes, scheduleFromPodnet } from '../../src/verify/schedule.js';
import { parsePingOutcomes } from '../../src/verify/probes.js';
import { podnetRulesOf } from '../../src/verify/verify.js';
import { scenario } from './helpers.js';

function defaultPlan(hook?: Parameters<typeof planKernelTopology>[1]['iptablesRestore']): {
  plan: KernelPlan;
  lines: string[];
  sim: Simulation;
} {
  const sim = new Simulation(loadDefaultTopology().model!, { seed: 1 });
  const plan = planKernelTopology(
    sim.network,
    hook === undefined ? { prefix: namePrefix(123) } : { prefix: namePrefix(123), iptablesRestore: hook },
  );
  return { plan, lines: plan.steps.map((s) => s.argv.join(' ')), sim };
}

describe('kernel plan for the built-in topology', () => {
  test('one namespace per podnet namespace, all under the run prefix', () => {
    const { plan } = defaultPlan();
    // the built-in topology has kubeadm's two CoreDNS pods (the other addon pods are hostNetwork)
    expect(plan.namespaces.map((n) => n.name)).toEqual([
      'pnk123-underlay',
      'pnk123-gw',
      'pnk123-node-node1',
      'pnk123-node-node2',
      'pnk123-pod-kube-system.coredns-44665cbf44-q5wrj',
      'pnk123-pod-kube-system.coredns-44665cbf44-7dmc7',
      'pnk123-pod-client',
      'pnk123-pod-web-0',
      'pnk123-pod-web-1',
    ]);
  });

  test('the expected ip / bridge / sysctl commands, with podnet’s names, MACs and MTUs', () => {
    const { lines, sim } = defaultPlan();
    const client = sim.network.pod('client')!;
    const veth = client.hostVeth!.name;
    expect(veth).toMatch(/^veth[0-9a-f]{8}$/);
    expect(lines).toEqual(
      expect.arrayContaining([
        'ip netns add pnk123-node-node1',
        'ip -n pnk123-node-node1 link add cni0 type bridge stp_state 0 ageing_time 30000',
        'ip -n pnk123-node-node1 link set dev cni0 address 0a:58:0a:f4:00:01 mtu 1450',
        `ip -n pnk123-node-node1 link add ${veth} type veth peer name eth0 netns pnk123-pod-client`,
        // client is 10.244.0.4: CoreDNS holds .2 and .3
        `ip -n pnk123-node-node1 link set dev ${veth} address 02:ee:0a:f4:00:04 mtu 1450`,
        'ip -n pnk123-pod-client link set dev eth0 address 0a:58:0a:f4:00:04 mtu 1450',
        `ip -n pnk123-node-node1 link set dev ${veth} master cni0`,
        `ip -n pnk123-node-node1 link set dev ${veth} type bridge_slave hairpin on`,
        'ip -n pnk123-node-node1 link add flannel.1 type vxlan id 1 local 172.18.0.2 dev eth0 dstport 8472 nolearning ttl auto udpcsum',
        'ip -n pnk123-node-node1 link set dev flannel.1 address 02:f1:0a:f4:00:00 mtu 1450',
        'ip -n pnk123-underlay link add port1 type veth peer name eth0 netns pnk123-node-node1',
        'ip -n pnk123-underlay link set dev port1 address 02:ff:ac:12:00:02 mtu 1500',
        'ip -n pnk123-node-node1 link set dev eth0 address 02:42:ac:12:00:02 mtu 1500',
        'ip -n pnk123-node-node1 addr add 10.244.0.1/24 broadcast 10.244.0.255 dev cni0',
        'ip -n pnk123-node-node1 addr add 10.244.0.0/32 dev flannel.1',
        'ip -n pnk123-node-node1 route add 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink',
        'ip -n pnk123-node-node1 route add default via 172.18.0.1 dev eth0',
        'ip -n pnk123-node-node1 neigh add 10.244.1.0 lladdr 02:f1:0a:f4:01:00 dev flannel.1 nud permanent',
        'bridge -n pnk123-node-node1 fdb append 02:f1:0a:f4:01:00 dev flannel.1 dst 172.18.0.3',
        'ip -n pnk123-pod-client route add default via 10.244.0.1 dev eth0',
        'ip -n pnk123-pod-client route add 10.244.0.0/16 via 10.244.0.1 dev eth0',
        'ip -n pnk123-gw route add blackhole 0.0.0.0/0',
      ]),
    );
    const node1Sysctl = lines.find((l) => l.startsWith('ip netns exec pnk123-node-node1 sysctl'))!;
    for (const kv of [
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv4.ip_forward=1',
      'net.bridge.bridge-nf-call-iptables=1',
      'net.ipv4.ip_local_port_range=32768 60999',
    ])
      expect(node1Sysctl).toContain(kv);
    expect(lines.find((l) => l.startsWith('ip netns exec pnk123-underlay sysctl'))).toContain(
      'net.bridge.bridge-nf-call-iptables=0',
    );
    // the kernel adds the proto-kernel routes itself
    expect(lines.some((l) => l.includes('route add') && l.includes('proto kernel'))).toBe(false);
  });

  test('every command stays in the plan’s namespaces; anything else is refused', () => {
    const { plan } = defaultPlan();
    for (const s of plan.steps) expect(() => assertStepConfined(s, plan)).not.toThrow();
    for (const argv of [
      ['ip', 'link', 'add', 'x', 'type', 'dummy'],
      ['ip', '-n', 'pnk999-node-node1', 'link', 'set', 'lo', 'up'],
      ['ip', 'netns', 'delete', 'important'],
      ['ip', 'netns', 'exec', 'pnk123-pod-client', 'sh'].slice(0, 3),
      ['ip', '-n', 'pnk123-node-node1', 'link', 'add', 'v', 'type', 'veth', 'peer', 'name', 'eth9', 'netns', 'other'],
      ['sh', '-c', 'ip link'],
      ['bridge', 'fdb', 'show'],
    ]) {
      expect(() => assertStepConfined({ argv }, plan), argv.join(' ')).toThrow(ConfinementError);
    }
  });

  test('capture points are podnet’s, servers run on declared ports', () => {
    const { plan, sim } = defaultPlan();
    const podnetPoints = [...sim.network.world.namespaces.values()]
      .filter((n) => n.traced)
      .flatMap((n) => n.devices.filter((d) => d.kind !== 'loopback').map((d) => d.point.name));
    expect(plan.captures.map((c) => c.point).sort()).toEqual(podnetPoints.sort());
    expect(plan.captures.find((c) => c.point === 'node1/cni0')).toEqual({
      point: 'node1/cni0',
      ns: 'pnk123-node-node1',
      dev: 'cni0',
    });
    expect(plan.servers).toEqual([
      // the addons: the kube-apiserver static pod (hostNetwork) and CoreDNS, whose port 53 is the DNS agent's
      { ns: 'pnk123-node-node1', name: 'kube-system/kube-apiserver-node1', tcp: [6443], udp: [] },
      {
        ns: 'pnk123-pod-kube-system.coredns-44665cbf44-q5wrj',
        name: 'kube-system/coredns-44665cbf44-q5wrj',
        tcp: [9153],
        udp: [],
      },
      {
        ns: 'pnk123-pod-kube-system.coredns-44665cbf44-7dmc7',
        name: 'kube-system/coredns-44665cbf44-7dmc7',
        tcp: [9153],
        udp: [],
      },
      { ns: 'pnk123-pod-web-0', name: 'web-0', tcp: [8080], udp: [7777] },
      { ns: 'pnk123-pod-web-1', name: 'web-1', tcp: [8080], udp: [7777] },
    ]);
    // CoreDNS answers on 53 (podnet's chain over real sockets), forwarding to the gateway's resolver
    expect(plan.dnsServers.map((d) => `${d.ns} ${d.config.mode}`)).toEqual([
      'pnk123-pod-kube-system.coredns-44665cbf44-q5wrj coredns',
      'pnk123-pod-kube-system.coredns-44665cbf44-7dmc7 coredns',
      'pnk123-gw upstream',
    ]);
  });

  test('the iptables hook: no step without it, iptables-restore with the text as input with it', () => {
    expect(defaultPlan().plan.steps.some((s) => s.phase === 'iptables')).toBe(false);
    const { plan } = defaultPlan((node) => (node.model.name === 'node2' ? '*filter\nCOMMIT\n' : undefined));
    const ipt = plan.steps.filter((s) => s.phase === 'iptables');
    expect(ipt).toEqual([
      {
        phase: 'iptables',
        argv: ['ip', 'netns', 'exec', 'pnk123-node-node2', 'iptables-restore'],
        input: '*filter\nCOMMIT\n',
        why: 'node2: iptables-restore',
      },
    ]);
    expect(formatPlanScript(plan)).toContain("ip netns exec pnk123-node-node2 iptables-restore <<'PODNET_EOF'");
  });

  test("with netfilter mirrored, a node's hook input is podnet's own iptables-save of that node", () => {
    const { sim } = defaultPlan();
    const node = sim.network.nodes.get('node1')!;
    const text = podnetRulesOf(node);
    if (node.ns.stack.nf === null) expect(text).toBeUndefined();
    else expect(text).toMatch(/^\*(mangle|filter|nat|raw)\n[\s\S]*COMMIT\n$/);
  });

  test('the prefix must be pnk<pid>-', () => {
    const sim = new Simulation(loadDefaultTopology().model!, { seed: 1 });
    expect(() => planKernelTopology(sim.network, { prefix: 'po-' })).toThrow(/pnk<pid>-/);
  });

  test('the script lists the commands and the cleanup', () => {
    const s = formatPlanScript(defaultPlan().plan);
    expect(s).toContain('ip netns exec pnk123-node-node1 sysctl -qw');
    expect(s).toContain("'net.ipv4.ip_local_port_range=32768 60999'");
    expect(s).toContain('# ip netns delete pnk123-underlay');
  });
});

describe('schedule, captures and probe outcomes', () => {
  test('the kernel replays podnet’s probes: ping arguments, agents per attempt with pinned ports and the UDP payload', () => {
    const model = scenario('k-udp-pinned');
    const sim = new Simulation(model, { seed: 1 });
    const reports = sim.runScenario();
    const s = scheduleFromPodnet(sim, model.scenario!.probes, reports, false);
    expect(s.probes).toHaveLength(9);
    expect(s.probes[0]!.launches[0]!.args).toEqual([
      '--dst',
      '10.244.1.2',
      '--port',
      '5353',
      '--timeout-ms',
      '2000',
      '--sport',
      '40001',
      '--payload-hex',
      '70726f62650a',
    ]);
    const i = scenario('i-mtu');
    const sim2 = new Simulation(i, { seed: 1 });
    const s2 = scheduleFromPodnet(sim2, i.scenario!.probes, sim2.runScenario(), false);
    expect(s2.probes[0]!.launches[0]!.args).toEqual([
      '-n',
      '-c',
      '2',
      '-s',
      '1472',
      '-i',
      '0.3',
      '-W',
      '2',
      '-M',
      'do',
      '10.244.2.2',
    ]);
    expect(s2.probes[4]!.fromNs).toBe('ext/ext');
  });

  test('tcpdump statistics and command line', () => {
    expect(
      parseTcpdumpStats('12 packets captured\n12 packets received by filter\n0 packets dropped by kernel\n'),
    ).toEqual({ captured: 12, received: 12, dropped: 0, complete: true });
    expect(
      parseTcpdumpStats('11 packets captured\n12 packets received by filter\n0 packets dropped by kernel\n').complete,
    ).toBe(false);
    expect(parseTcpdumpStats('tcpdump: listening on eth0').complete).toBe(false);
    const argv = tcpdumpArgv(
      { point: 'pod:client/eth0', ns: 'pnk1-pod-client', dev: 'eth0' },
      '/x/pod_client_eth0.pcap',
    );
    expect(argv.slice(0, 8)).toEqual([
      'ip',
      'netns',
      'exec',
      'pnk1-pod-client',
      'tcpdump',
      '-p',
      '--immediate-mode',
      '-U',
    ]);
    expect(captureFileName('pod:client/eth0')).toBe('pod_client_eth0.pcap');
  });

  test('ping output becomes one outcome per sequence number', () => {
    const out = [
      'PING 10.244.2.2 (10.244.2.2) 1472(1500) bytes of data.',
      'From 172.18.0.2 icmp_seq=1 Frag needed and DF set (mtu = 1450)',
      'ping: local error: message too long, mtu=1450',
      'ping: local error: message too long, mtu=1450',
    ].join('\n');
    expect(parsePingOutcomes(out, '', 3)).toEqual([
      'error: From 172.18.0.2: Frag needed and DF set (mtu = 1450)',
      'error: local error: message too long, mtu=1450',
      'error: local error: message too long, mtu=1450',
    ]);
    expect(pingOutcomes(out, '')).toBe(3);
    expect(parsePingOutcomes('64 bytes from 10.244.1.2: icmp_seq=2 ttl=64 time=0.1 ms\n', '', 2)).toEqual([
      'no reply',
      'reply from 10.244.1.2 ttl=64',
    ]);
  });
});
