/** kube-proxy (iptables mode, v1.30) behaviour, one feature at a time. */
import { describe, expect, it } from 'vitest';
import { buildClusterRules, type ClusterRules, type KubeProxyOptions } from '../../../src/kube/agents/node-rules.js';
import { extChain, fwChain, sepChain, svcChain, svlChain } from '../../../src/kube/agents/kube-proxy/hash.js';
import { formatIptablesSave, formatRule } from '../../../src/netfilter/iptables-save.js';
import { getChain, type TableName } from '../../../src/netfilter/rules.js';
import type { ClusterModel, ServiceModel, EndpointSliceModel } from '../../../src/kube/model.js';
import { cidr, cluster, node, service, slice, type EpSpec } from './cluster.js';

const NODES = [node('a', 0, '172.18.0.2', '10.244.0.0/24'), node('b', 1, '172.18.0.3', '10.244.1.0/24')];

function build(
  services: ServiceModel[],
  slices: EndpointSliceModel[],
  opts: KubeProxyOptions = {},
  extra: Partial<Parameters<typeof cluster>[0]> = {},
): ClusterRules {
  return buildClusterRules(cluster({ nodes: NODES, services, slices, ...extra }), opts);
}

function lines(cr: ClusterRules, nodeName: string, table: TableName, chain: string): string[] | undefined {
  const c = getChain(cr.rulesForNode(nodeName).tables[table]!, chain);
  return c?.rules.map((r) => formatRule(chain, r));
}

const HTTP = [{ name: 'http', port: 8080 }];
const eps = (...list: EpSpec[]): EpSpec[] => list;

describe('services without endpoints', () => {
  const cr = build(
    [
      service({
        name: 'empty',
        type: 'NodePort',
        clusterIP: '10.96.0.50',
        externalIPs: ['192.168.56.200'],
        ports: [{ name: 'http', port: 80, nodePort: 30050 }],
      }),
    ],
    [],
  );

  it('are rejected in filter KUBE-SERVICES (ClusterIP) and KUBE-EXTERNAL-SERVICES (externalIP, NodePort)', () => {
    const c = 'default/empty:http has no endpoints';
    expect(lines(cr, 'a', 'filter', 'KUBE-SERVICES')).toEqual([
      `-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment "${c}" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable`,
    ]);
    expect(lines(cr, 'b', 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      `-A KUBE-EXTERNAL-SERVICES -d 192.168.56.200/32 -p tcp -m comment --comment "${c}" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable`,
      `-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "${c}" -m addrtype --dst-type LOCAL -m tcp --dport 30050 -j REJECT --reject-with icmp-port-unreachable`,
    ]);
  });

  it('get no nat chains or nat rules', () => {
    expect(lines(cr, 'a', 'nat', svcChain('default/empty:http', 'tcp'))).toBeUndefined();
    expect(lines(cr, 'a', 'nat', extChain('default/empty:http', 'tcp'))).toBeUndefined();
    expect(lines(cr, 'a', 'nat', 'KUBE-NODEPORTS')).toEqual([]);
    expect(lines(cr, 'a', 'nat', 'KUBE-SERVICES')).toHaveLength(1);
  });
});

describe('internalTrafficPolicy: Local', () => {
  const cr = build(
    [
      service({
        name: 'local',
        clusterIP: '10.96.0.60',
        internalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: 80 }],
      }),
    ],
    [slice('local', HTTP, eps({ ip: '10.244.0.5', node: 'a' }))],
  );
  const svl = svlChain('default/local:http', 'tcp');
  const sep = sepChain('default/local:http', 'tcp', '10.244.0.5:8080');

  it('sends ClusterIP traffic to KUBE-SVL on a node with a local endpoint, with the ClusterIP masquerade rule on top', () => {
    expect(lines(cr, 'a', 'nat', 'KUBE-SERVICES')?.[0]).toBe(
      `-A KUBE-SERVICES -d 10.96.0.60/32 -p tcp -m comment --comment "default/local:http cluster IP" -m tcp --dport 80 -j ${svl}`,
    );
    expect(lines(cr, 'a', 'nat', svl)).toEqual([
      `-A ${svl} ! -s 10.244.0.0/16 -d 10.96.0.60/32 -p tcp -m comment --comment "default/local:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
      `-A ${svl} -m comment --comment "default/local:http -> 10.244.0.5:8080" -j ${sep}`,
    ]);
    expect(lines(cr, 'a', 'nat', sep)).toHaveLength(2);
    // Not externally reachable and ITP=Local: no Cluster-policy chain at all.
    expect(lines(cr, 'a', 'nat', svcChain('default/local:http', 'tcp'))).toBeUndefined();
  });

  it('drops ClusterIP traffic in filter on a node without local endpoints, and has no SVL/SEP there', () => {
    expect(lines(cr, 'b', 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -d 10.96.0.60/32 -p tcp -m comment --comment "default/local:http has no local endpoints" -m tcp --dport 80 -j DROP',
    ]);
    expect(lines(cr, 'b', 'nat', 'KUBE-SERVICES')).toHaveLength(1);
    expect(lines(cr, 'b', 'nat', svl)).toBeUndefined();
    expect(lines(cr, 'b', 'nat', sep)).toBeUndefined();
    expect(lines(cr, 'a', 'filter', 'KUBE-SERVICES')).toEqual([]);
  });
});

describe('externalTrafficPolicy: Local LoadBalancer', () => {
  const cr = build(
    [
      service({
        name: 'lb',
        type: 'LoadBalancer',
        clusterIP: '10.96.0.70',
        loadBalancerIPs: ['192.168.56.240'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        ports: [{ name: 'http', port: 80, nodePort: 31000 }],
      }),
    ],
    [slice('lb', HTTP, eps({ ip: '10.244.0.5', node: 'a' }, { ip: '10.244.1.5', node: 'b', ready: false }))],
  );
  const ext = extChain('default/lb:http', 'tcp');
  const svc = svcChain('default/lb:http', 'tcp');
  const svl = svlChain('default/lb:http', 'tcp');

  it('short-circuits pod and node traffic to KUBE-SVC and sends the rest to KUBE-SVL only where there are local endpoints', () => {
    const common = [
      `-A ${ext} -s 10.244.0.0/16 -m comment --comment "pod traffic for default/lb:http external destinations" -j ${svc}`,
      `-A ${ext} -m comment --comment "masquerade LOCAL traffic for default/lb:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A ${ext} -m comment --comment "route LOCAL traffic for default/lb:http external destinations" -m addrtype --src-type LOCAL -j ${svc}`,
    ];
    expect(lines(cr, 'a', 'nat', ext)).toEqual([...common, `-A ${ext} -j ${svl}`]);
    expect(lines(cr, 'b', 'nat', ext)).toEqual(common);
    expect(lines(cr, 'a', 'nat', svl)).toEqual([
      `-A ${svl} -m comment --comment "default/lb:http -> 10.244.0.5:8080" -j ${sepChain('default/lb:http', 'tcp', '10.244.0.5:8080')}`,
    ]);
  });

  it('drops external traffic on nodes without local endpoints and opens the health check node port everywhere', () => {
    const c = 'default/lb:http has no local endpoints';
    expect(lines(cr, 'b', 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      `-A KUBE-EXTERNAL-SERVICES -d 192.168.56.240/32 -p tcp -m comment --comment "${c}" -m tcp --dport 80 -j DROP`,
      `-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "${c}" -m addrtype --dst-type LOCAL -m tcp --dport 31000 -j DROP`,
    ]);
    expect(lines(cr, 'a', 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([]);
    for (const n of ['a', 'b']) {
      expect(lines(cr, n, 'filter', 'KUBE-NODEPORTS')).toEqual([
        '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/lb:http health check node port" -m tcp --dport 32000 -j ACCEPT',
      ]);
    }
  });

  it('captures the LB IP and the NodePort into KUBE-EXT', () => {
    expect(lines(cr, 'b', 'nat', 'KUBE-SERVICES')).toContain(
      `-A KUBE-SERVICES -d 192.168.56.240/32 -p tcp -m comment --comment "default/lb:http loadbalancer IP" -m tcp --dport 80 -j ${ext}`,
    );
    expect(lines(cr, 'b', 'nat', 'KUBE-NODEPORTS')).toEqual([
      `-A KUBE-NODEPORTS -p tcp -m comment --comment "default/lb:http" -m tcp --dport 31000 -j ${ext}`,
    ]);
  });
});

describe('loadBalancerSourceRanges', () => {
  const cr = build(
    [
      service({
        name: 'fw',
        type: 'LoadBalancer',
        clusterIP: '10.96.0.80',
        loadBalancerIPs: ['192.168.56.241'],
        loadBalancerSourceRanges: ['203.0.113.0/24', '172.18.0.2/32'],
        ports: [{ name: 'https', port: 443, nodePort: 31443 }],
      }),
    ],
    [slice('fw', [{ name: 'https', port: 8443 }], eps({ ip: '10.244.1.9', node: 'b' }))],
  );
  const fw = fwChain('default/fw:https', 'tcp');
  const ext = extChain('default/fw:https', 'tcp');

  it('send LB traffic through KUBE-FW, which ends in a comment-only rule', () => {
    const c = 'default/fw:https loadbalancer IP';
    const tail = `-A ${fw} -m comment --comment "other traffic to default/fw:https will be dropped by KUBE-PROXY-FIREWALL"`;
    const ranges = [
      `-A ${fw} -s 203.0.113.0/24 -m comment --comment "${c}" -j ${ext}`,
      `-A ${fw} -s 172.18.0.2/32 -m comment --comment "${c}" -j ${ext}`,
    ];
    // Node a's own IP is inside a source range, so it may reach its own VIP.
    expect(lines(cr, 'a', 'nat', fw)).toEqual([
      ...ranges,
      `-A ${fw} -s 192.168.56.241/32 -m comment --comment "${c}" -j ${ext}`,
      tail,
    ]);
    expect(lines(cr, 'b', 'nat', fw)).toEqual([...ranges, tail]);
    expect(lines(cr, 'b', 'nat', 'KUBE-SERVICES')).toContain(
      `-A KUBE-SERVICES -d 192.168.56.241/32 -p tcp -m comment --comment "${c}" -m tcp --dport 443 -j ${fw}`,
    );
    expect(lines(cr, 'a', 'filter', 'KUBE-PROXY-FIREWALL')).toEqual([
      `-A KUBE-PROXY-FIREWALL -d 192.168.56.241/32 -p tcp -m comment --comment "default/fw:https traffic not accepted by ${fw}" -m tcp --dport 443 -j DROP`,
    ]);
  });
});

describe('externalIPs, named and multi-port services, protocols', () => {
  const cr = build(
    [
      service({
        namespace: 'kube-system',
        name: 'kube-dns',
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      }),
      service({ name: 'plain', clusterIP: '10.96.0.90', externalIPs: ['192.168.56.250'], ports: [{ port: 80 }] }),
      service({ name: 'sig', clusterIP: '10.96.0.91', ports: [{ name: 'sctp', port: 3868, protocol: 'SCTP' }] }),
      service({ name: 'alias', type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] }),
      service({ name: 'db', headless: true, ports: [{ port: 5432 }] }),
    ],
    [
      slice(
        'kube-dns',
        [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
        eps({ ip: '10.244.0.2', node: 'a' }, { ip: '10.244.0.3', node: 'a' }),
        { namespace: 'kube-system' },
      ),
      slice('plain', [{ port: 8080 }], eps({ ip: '10.244.1.2', node: 'b' })),
      slice('sig', [{ name: 'sctp', port: 3868, protocol: 'SCTP' }], eps({ ip: '10.244.1.3', node: 'b' })),
      slice('db', [{ port: 5432 }], eps({ ip: '10.244.1.4', node: 'b' })),
    ],
  );

  it('process service ports in name order, skipping ExternalName and headless services', () => {
    expect(cr.servicePorts.map((p) => `${p.name}/${p.protocol}`)).toEqual([
      'default/plain/tcp',
      'default/sig:sctp/sctp',
      'kube-system/kube-dns:dns/udp',
      'kube-system/kube-dns:dns-tcp/tcp',
      'kube-system/kube-dns:metrics/tcp',
    ]);
    const text = formatIptablesSave(cr.rulesForNode('a'));
    expect(text).not.toContain('alias');
    expect(text).not.toContain('default/db');
  });

  it('name chains by port name and protocol (kube-dns:dns/udp is KUBE-SVC-TCOU7JCQXEZGVUNU)', () => {
    expect(lines(cr, 'a', 'nat', 'KUBE-SVC-TCOU7JCQXEZGVUNU')).toEqual([
      '-A KUBE-SVC-TCOU7JCQXEZGVUNU ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ',
      `-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.0.2:53" -m statistic --mode random --probability 0.50000000000 -j ${sepChain('kube-system/kube-dns:dns', 'udp', '10.244.0.2:53')}`,
      `-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.0.3:53" -j ${sepChain('kube-system/kube-dns:dns', 'udp', '10.244.0.3:53')}`,
    ]);
    const sep = sepChain('kube-system/kube-dns:dns', 'udp', '10.244.0.2:53');
    expect(lines(cr, 'b', 'nat', sep)).toEqual([
      `-A ${sep} -s 10.244.0.2/32 -m comment --comment "kube-system/kube-dns:dns" -j KUBE-MARK-MASQ`,
      `-A ${sep} -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination 10.244.0.2:53`,
    ]);
  });

  it('use the bare service name for an unnamed port, and capture externalIPs into KUBE-EXT', () => {
    const ext = extChain('default/plain', 'tcp');
    expect(lines(cr, 'a', 'nat', 'KUBE-SERVICES')?.slice(0, 2)).toEqual([
      `-A KUBE-SERVICES -d 10.96.0.90/32 -p tcp -m comment --comment "default/plain cluster IP" -m tcp --dport 80 -j ${svcChain('default/plain', 'tcp')}`,
      `-A KUBE-SERVICES -d 192.168.56.250/32 -p tcp -m comment --comment "default/plain external IP" -m tcp --dport 80 -j ${ext}`,
    ]);
    expect(lines(cr, 'a', 'nat', ext)).toEqual([
      `-A ${ext} -m comment --comment "masquerade traffic for default/plain external destinations" -j KUBE-MARK-MASQ`,
      `-A ${ext} -j ${svcChain('default/plain', 'tcp')}`,
    ]);
  });

  it('write SCTP services with -m sctp', () => {
    expect(lines(cr, 'a', 'nat', 'KUBE-SERVICES')).toContain(
      `-A KUBE-SERVICES -d 10.96.0.91/32 -p sctp -m comment --comment "default/sig:sctp cluster IP" -m sctp --dport 3868 -j ${svcChain('default/sig:sctp', 'sctp')}`,
    );
  });
});

describe('endpoint selection', () => {
  it('sorts endpoints as strings, so 10.244.1.10 comes before 10.244.1.7', () => {
    const cr = build(
      [service({ name: 'web', clusterIP: '10.96.0.100', ports: [{ name: 'http', port: 80 }] })],
      [
        slice(
          'web',
          HTTP,
          eps({ ip: '10.244.1.7', node: 'b' }, { ip: '10.244.1.10', node: 'b' }, { ip: '10.244.1.8', node: 'b' }),
        ),
      ],
    );
    expect(cr.servicePorts[0]!.endpoints.map((e) => e.key)).toEqual([
      '10.244.1.10:8080',
      '10.244.1.7:8080',
      '10.244.1.8:8080',
    ]);
    const svc = lines(cr, 'a', 'nat', svcChain('default/web:http', 'tcp'))!;
    expect(svc.slice(1).map((l) => /-> (\S+)"/.exec(l)?.[1])).toEqual([
      '10.244.1.10:8080',
      '10.244.1.7:8080',
      '10.244.1.8:8080',
    ]);
    expect(svc.slice(1).map((l) => /--probability (\S+)/.exec(l)?.[1])).toEqual([
      '0.33333333349',
      '0.50000000000',
      undefined,
    ]);
  });

  it('uses only ready endpoints while there are any, and falls back to serving+terminating ones', () => {
    const ready = build(
      [service({ name: 'web', clusterIP: '10.96.0.100', ports: [{ name: 'http', port: 80 }] })],
      [
        slice(
          'web',
          HTTP,
          eps(
            { ip: '10.244.1.2', node: 'b' },
            { ip: '10.244.1.3', node: 'b', ready: false, serving: true, terminating: true },
          ),
        ),
      ],
    );
    expect(ready.servicePorts[0]!.clusterEndpoints.map((e) => e.key)).toEqual(['10.244.1.2:8080']);
    const fallback = build(
      [service({ name: 'web', clusterIP: '10.96.0.100', ports: [{ name: 'http', port: 80 }] })],
      [
        slice(
          'web',
          HTTP,
          eps(
            { ip: '10.244.1.2', node: 'b', ready: false, serving: false, terminating: true },
            { ip: '10.244.1.3', node: 'b', ready: false, serving: true, terminating: true },
            { ip: '10.244.1.4', node: 'b', ready: false, serving: true, terminating: false },
          ),
        ),
      ],
    );
    expect(fallback.servicePorts[0]!.clusterEndpoints.map((e) => e.key)).toEqual(['10.244.1.3:8080']);
    expect(lines(fallback, 'a', 'nat', svcChain('default/web:http', 'tcp'))).toHaveLength(2);
  });

  it('falls back to local serving+terminating endpoints for Local policy, with their SEP chain only on that node', () => {
    const cr = build(
      [
        service({
          name: 'drain',
          type: 'NodePort',
          clusterIP: '10.96.0.110',
          externalTrafficPolicy: 'Local',
          ports: [{ name: 'http', port: 80, nodePort: 30110 }],
        }),
      ],
      [
        slice(
          'drain',
          HTTP,
          eps(
            { ip: '10.244.1.2', node: 'b' },
            { ip: '10.244.0.7', node: 'a', ready: false, serving: true, terminating: true },
          ),
        ),
      ],
    );
    const sp = cr.servicePorts[0]!;
    const terminating = sepChain('default/drain:http', 'tcp', '10.244.0.7:8080');
    expect(sp.clusterEndpoints.map((e) => e.key)).toEqual(['10.244.1.2:8080']);
    expect(cr.nodeServicePort('a', sp).localEndpoints.map((e) => e.key)).toEqual(['10.244.0.7:8080']);
    expect(cr.nodeServicePort('a', sp).reachableEndpoints.map((e) => e.key)).toEqual([
      '10.244.0.7:8080',
      '10.244.1.2:8080',
    ]);
    expect(lines(cr, 'a', 'nat', svlChain('default/drain:http', 'tcp'))).toEqual([
      `-A ${svlChain('default/drain:http', 'tcp')} -m comment --comment "default/drain:http -> 10.244.0.7:8080" -j ${terminating}`,
    ]);
    expect(lines(cr, 'a', 'nat', terminating)).toHaveLength(2);
    expect(lines(cr, 'b', 'nat', terminating)).toBeUndefined();
  });

  it('writes ClientIP affinity as recent checks before the probability cascade, with the configured timeout', () => {
    const cr = build(
      [
        service({
          name: 'sticky',
          clusterIP: '10.96.0.102',
          sessionAffinity: 'ClientIP',
          affinityTimeoutSeconds: 600,
          ports: [{ name: 'http', port: 80 }],
        }),
      ],
      [slice('sticky', HTTP, eps({ ip: '10.244.0.9', node: 'a' }))],
    );
    const sep = sepChain('default/sticky:http', 'tcp', '10.244.0.9:8080');
    const svc = svcChain('default/sticky:http', 'tcp');
    expect(lines(cr, 'b', 'nat', svc)?.slice(1)).toEqual([
      `-A ${svc} -m comment --comment "default/sticky:http -> 10.244.0.9:8080" -m recent --rcheck --seconds 600 --reap --name ${sep} --mask 255.255.255.255 --rsource -j ${sep}`,
      `-A ${svc} -m comment --comment "default/sticky:http -> 10.244.0.9:8080" -j ${sep}`,
    ]);
    expect(lines(cr, 'b', 'nat', sep)?.[1]).toBe(
      `-A ${sep} -p tcp -m comment --comment "default/sticky:http" -m recent --set --name ${sep} --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.0.9:8080`,
    );
  });

  it('leaves out per-endpoint comments above 1000 endpoints (large cluster mode)', () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ ip: `10.244.${1 + (i >> 8)}.${i & 255}`, node: 'b' }));
    const cr = build(
      [service({ name: 'big', clusterIP: '10.96.0.200', ports: [{ name: 'http', port: 80 }] })],
      [slice('big', HTTP, many)],
    );
    expect(cr.largeClusterMode).toBe(true);
    const svc = lines(cr, 'a', 'nat', svcChain('default/big:http', 'tcp'))!;
    expect(svc[0]).toContain('--comment "default/big:http cluster IP"');
    expect(svc[1]).toMatch(/^-A KUBE-SVC-\S+ -m statistic --mode random --probability 0\.00099900085 -j KUBE-SEP-/);
    const ep = cr.servicePorts[0]!.endpoints[0]!;
    expect(lines(cr, 'a', 'nat', ep.sepChain)).toEqual([
      `-A ${ep.sepChain} -s ${ep.key.split(':')[0]}/32 -j KUBE-MARK-MASQ`,
      `-A ${ep.sepChain} -p tcp -m tcp -j DNAT --to-destination ${ep.key}`,
    ]);
  });
});

describe('options', () => {
  const web = (): [ServiceModel[], EndpointSliceModel[]] => [
    [
      service({
        name: 'web',
        type: 'NodePort',
        clusterIP: '10.96.0.100',
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      }),
    ],
    [slice('web', HTTP, eps({ ip: '10.244.1.2', node: 'b' }))],
  ];

  it('masqueradeAll drops the ! -s clusterCIDR test', () => {
    const cr = build(...web(), { masqueradeAll: true });
    expect(lines(cr, 'a', 'nat', svcChain('default/web:http', 'tcp'))?.[0]).toBe(
      '-A KUBE-SVC-CDGGSHYLG3RE2FKL -d 10.96.0.100/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ',
    );
  });

  it('localhostNodePorts: false keeps 127/8 out of the NodePort rule (kubelet still writes KUBE-FIREWALL)', () => {
    const cr = build(...web(), { localhostNodePorts: false });
    expect(lines(cr, 'a', 'nat', 'KUBE-SERVICES')?.at(-1)).toBe(
      '-A KUBE-SERVICES ! -d 127.0.0.0/8 -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    );
    expect(lines(cr, 'a', 'filter', 'KUBE-FIREWALL')).toHaveLength(1);
    const bare = build(...web(), { localhostNodePorts: false, kubelet: false });
    expect(lines(bare, 'a', 'filter', 'KUBE-FIREWALL')).toEqual([]);
    // Without kubelet, kube-proxy prepends the KUBE-FIREWALL jumps itself, last, so they come first.
    expect(lines(bare, 'a', 'filter', 'INPUT')?.[0]).toBe('-A INPUT -j KUBE-FIREWALL');
    expect(lines(cr, 'a', 'filter', 'INPUT')?.at(-1)).toBe('-A INPUT -j KUBE-FIREWALL');
    expect(formatIptablesSave(bare.rulesForNode('a'))).not.toMatch(/KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY/);
  });

  it('nodePortAddresses turns the NodePort jump into one -d rule per matching node address', () => {
    const cr = build(...web(), { nodePortAddresses: [cidr('172.18.0.0/24')] });
    const cm = '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
    expect(lines(cr, 'a', 'nat', 'KUBE-SERVICES')?.at(-1)).toBe(
      `-A KUBE-SERVICES -d 172.18.0.2/32 ${cm} -j KUBE-NODEPORTS`,
    );
    expect(lines(cr, 'b', 'nat', 'KUBE-SERVICES')?.at(-1)).toBe(
      `-A KUBE-SERVICES -d 172.18.0.3/32 ${cm} -j KUBE-NODEPORTS`,
    );
    const primary = build(...web(), { nodePortAddresses: 'primary' });
    expect(lines(primary, 'b', 'nat', 'KUBE-SERVICES')?.at(-1)).toBe(
      `-A KUBE-SERVICES -d 172.18.0.3/32 ${cm} -j KUBE-NODEPORTS`,
    );
  });

  it('randomFully: false writes plain MASQUERADE for kube-proxy and flannel', () => {
    const text = formatIptablesSave(build(...web(), { randomFully: false }).rulesForNode('a'));
    expect(text).toContain(
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE\n',
    );
    expect(text).not.toContain('--random-fully');
  });

  it('conntrackTCPLiberal leaves out the INVALID drop; nfacct adds the counting rules', () => {
    expect(lines(build(...web(), { conntrackTCPLiberal: true }), 'a', 'filter', 'KUBE-FORWARD')).toHaveLength(2);
    const cr = build(...web(), { nfacct: true });
    expect(lines(cr, 'a', 'filter', 'KUBE-FORWARD')?.[0]).toBe(
      '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP',
    );
    expect(lines(cr, 'a', 'nat', 'KUBE-NODEPORTS')).toEqual([
      '-A KUBE-NODEPORTS -d 127.0.0.0/8 -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -m nfacct --nfacct-name  localhost_nps_accepted_pkts -j KUBE-EXT-CDGGSHYLG3RE2FKL',
      '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-EXT-CDGGSHYLG3RE2FKL',
    ]);
  });

  it("masqueradeBit moves kube-proxy's mark; flannel keeps its fixed 0x4000/0x4000", () => {
    const cr = build(...web(), { masqueradeBit: 13 });
    expect(lines(cr, 'a', 'nat', 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --set-xmark 0x2000/0x2000']);
    expect(lines(cr, 'a', 'nat', 'KUBE-POSTROUTING')?.slice(0, 2)).toEqual([
      '-A KUBE-POSTROUTING -m mark ! --mark 0x2000/0x2000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --set-xmark 0x2000/0x0',
    ]);
    expect(lines(cr, 'a', 'nat', 'FLANNEL-POSTRTG')?.[0]).toBe(
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
    );
  });

  it('flannel without --ip-masq has no FLANNEL-POSTRTG; without flannel there is no FLANNEL-FWD either', () => {
    const noMasq = build(...web(), {}, { ipMasq: false });
    expect(lines(noMasq, 'a', 'nat', 'FLANNEL-POSTRTG')).toBeUndefined();
    expect(lines(noMasq, 'a', 'nat', 'POSTROUTING')).toEqual([
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]);
    expect(lines(noMasq, 'a', 'filter', 'FLANNEL-FWD')).toHaveLength(2);
    const none = build(...web(), { flannel: false });
    expect(formatIptablesSave(none.rulesForNode('a'))).not.toContain('FLANNEL');
  });
});

describe('a k3s-style cluster (10.42.0.0/16 pods, 10.43.0.0/16 services)', () => {
  const model: ClusterModel = cluster({
    clusterCIDR: '10.42.0.0/16',
    serviceCIDR: '10.43.0.0/16',
    nodes: [node('server', 0, '192.168.1.10', '10.42.0.0/24'), node('agent', 1, '192.168.1.11', '10.42.1.0/24')],
    services: [
      service({ name: 'kubernetes', clusterIP: '10.43.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] }),
      service({
        namespace: 'kube-system',
        name: 'traefik',
        type: 'LoadBalancer',
        clusterIP: '10.43.12.34',
        loadBalancerIPs: ['192.168.1.10', '192.168.1.11'],
        ports: [
          { name: 'web', port: 80, nodePort: 30080 },
          { name: 'websecure', port: 443, nodePort: 30443 },
        ],
      }),
    ],
    slices: [
      slice('kubernetes', [{ name: 'https', port: 6443 }], eps({ ip: '192.168.1.10' })),
      slice(
        'traefik',
        [
          { name: 'web', port: 8000 },
          { name: 'websecure', port: 8443 },
        ],
        eps({ ip: '10.42.1.5', node: 'agent' }),
        { namespace: 'kube-system' },
      ),
    ],
  });
  const cr = buildClusterRules(model);

  it('uses the cluster CIDR and the node pod CIDRs from the model, nothing hard-coded', () => {
    const text = formatIptablesSave(cr.rulesForNode('agent'));
    expect(text).not.toMatch(/10\.244\.|10\.96\./);
    expect(text).toContain(
      '-A FLANNEL-POSTRTG -s 10.42.1.0/24 -d 10.42.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
    );
    expect(text).toContain('-A FLANNEL-FWD -s 10.42.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
    expect(text).toContain(
      '-A KUBE-SVC-NPX46M4PTMTKRN6Y ! -s 10.42.0.0/16 -d 10.43.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-MARK-MASQ',
    );
    expect(text).toContain('-j DNAT --to-destination 192.168.1.10:6443');
    expect(formatIptablesSave(cr.rulesForNode('server'))).toContain(
      '-A FLANNEL-POSTRTG ! -s 10.42.0.0/16 -d 10.42.0.0/24 -m comment --comment "flanneld masq" -j RETURN',
    );
  });

  it('captures ServiceLB-style LB IPs equal to node addresses', () => {
    expect(lines(cr, 'server', 'nat', 'KUBE-SERVICES')).toContain(
      `-A KUBE-SERVICES -d 192.168.1.11/32 -p tcp -m comment --comment "kube-system/traefik:websecure loadbalancer IP" -m tcp --dport 443 -j ${extChain('kube-system/traefik:websecure', 'tcp')}`,
    );
  });
});
