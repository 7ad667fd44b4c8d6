/**
 * The package's entries export deliberate lists: each list below is the whole surface of one
 * entry (values and type-only names apart), so an accidental export — a helper made `export`
 * for a test, an `export *` — fails here and has to be added on purpose. The lists are read
 * from the sources by the TypeScript compiler (types included) and, for values, from the
 * modules as loaded.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const ENTRIES = {
  'podnet': 'src/index.ts',
  'podnet/wire': 'src/wire/index.ts',
  'podnet/testing': 'src/testing/index.ts',
  'podnet/internals': 'src/internals.ts',
} as const;

type Entry = keyof typeof ENTRIES;

const EXPECTED: Record<Entry, { readonly values: readonly string[]; readonly types: readonly string[] }> = {
  podnet: {
    values: [
      'ArgumentError', 'CaptureFiles', 'CaptureFormatError', 'FlowError', 'JsonHopSink', 'MemoryCapture', 'PointFilter',
      'RulesError', 'Simulation', 'TextHopSink', 'TopologyError', 'arbitraries', 'clusterRulesText', 'dig', 'dissectFrame',
      'formatCidr', 'formatDiagnostic', 'formatHopLine', 'formatIpv4', 'formatMac', 'hopToJson', 'isClusterModel',
      'loadTopology', 'loadTopologyResult', 'manifestToYaml', 'mutateRules', 'nodeRules', 'parseIpv4', 'parseMac',
      'parseRules', 'pcapngBytes', 'readCapture', 'ruleMutation', 'simulate', 'summarizeFrame', 'topologyToYaml',
      'traceArgs', 'writePcapng',
    ],
    types: [
      'AddonsModel', 'AppEvent', 'ArpEvent', 'AttemptResult', 'Backend', 'BridgeEvent', 'CaptureFile', 'CaptureInterface',
      'CapturePoint', 'CaptureSink', 'CapturedFrame', 'CapturedPacket', 'Cidr', 'ClusterDnsModel', 'ClusterModel',
      'CniModel', 'ContainerModel', 'ContainerPortModel', 'DecapEvent', 'DeliverEvent', 'DigOptions', 'DigResult',
      'DnsPolicy', 'Drop', 'DropEvent', 'Duration', 'EncapEvent', 'EndpointModel', 'EndpointSliceModel',
      'ExternalHostModel', 'FdbEvent', 'FlowDestination', 'FlowResult', 'FlowSource', 'FlowSpec', 'ForwardEvent',
      'FragEvent', 'FrameDissection', 'FrameEvent', 'HopBase', 'HopEvent', 'HopJson', 'HopKind', 'HopSink', 'IcmpEvent',
      'Ipv4Addr', 'KubeProxySettings', 'LinkDelays', 'LoadResult', 'LoadTopologyOptions', 'MacAddr', 'Manifest',
      'ManifestMetadata', 'NatChoice', 'NatEvent', 'NatPath', 'NeighEvent', 'NfEvent', 'NodeModel', 'ObjectOrigin',
      'PacketNotes', 'PacketRecord', 'PodDnsConfigModel', 'PodModel', 'PortRangeModel', 'ProbeAttempt',
      'ProbeExpectation', 'ProbeModel', 'ProbeProtocol', 'ProbeReport', 'Resolution', 'ResolverQuery', 'RouteEvent',
      'RouteModel', 'RuleMutation', 'Ruleset', 'RunOptions', 'ScenarioModel', 'ServiceAddressKind', 'ServiceModel',
      'ServicePortModel', 'ServiceTarget', 'ServiceVia', 'SimulateOptions', 'SimulationOptions', 'SimulationReady',
      'SimulationResult', 'SourceRef', 'TaintModel', 'TopologyDiagnostic', 'TopologyInput', 'Translation', 'UnderlayModel',
      'UpstreamDnsEntry',
    ],
  },
  'podnet/wire': {
    values: [
      'ARPOP_REPLY', 'ARPOP_REQUEST', 'ARP_LEN', 'ArpView', 'DNS_HLEN', 'DNS_MAX_LABEL', 'DNS_MAX_NAME_WIRE',
      'DNS_OPCODE_QUERY', 'DNS_PORT', 'DNS_UDP_PLAIN_MAX', 'DnsClass', 'DnsRcode', 'DnsType', 'DnsView', 'ETHERTYPE_ARP',
      'ETHERTYPE_IPV4', 'ETHERTYPE_IPV6', 'ETH_HLEN', 'EthernetView', 'ICMP_ADMIN_PROHIBITED', 'ICMP_DEST_UNREACH',
      'ICMP_ECHO_REPLY', 'ICMP_ECHO_REQUEST', 'ICMP_FRAG_NEEDED', 'ICMP_FRAG_REASM_EXCEEDED', 'ICMP_HLEN',
      'ICMP_HOST_UNREACH', 'ICMP_NET_UNREACH', 'ICMP_PORT_UNREACH', 'ICMP_PROTO_UNREACH', 'ICMP_TIME_EXCEEDED',
      'ICMP_TTL_EXCEEDED', 'IPPROTO_ICMP', 'IPPROTO_TCP', 'IPPROTO_UDP', 'IPV4_HLEN', 'IPV4_MAX_FRAG_OFFSET', 'IcmpView',
      'Ipv4View', 'MAC_BROADCAST', 'MAC_ZERO', 'TCPOPT_EOL', 'TCPOPT_MSS', 'TCPOPT_NOP', 'TCPOPT_SACK',
      'TCPOPT_SACK_PERM', 'TCPOPT_TIMESTAMPS', 'TCPOPT_WSCALE', 'TCP_ACK', 'TCP_CWR', 'TCP_ECE', 'TCP_FIN', 'TCP_HLEN',
      'TCP_MAX_HLEN', 'TCP_PSH', 'TCP_RST', 'TCP_SYN', 'TCP_URG', 'TcpView', 'UDP_HLEN', 'UdpView', 'VXLAN_FLAG_I',
      'VXLAN_HLEN', 'VXLAN_PORT_IANA', 'VXLAN_PORT_LINUX', 'VxlanView', 'WireError', 'checksum', 'dissectFrame',
      'dnsClassName', 'dnsHeader', 'dnsLength', 'dnsRcodeName', 'dnsTypeCode', 'dnsTypeName', 'ednsOf', 'emitArp',
      'emitDns', 'emitEthernet', 'emitIcmp', 'emitIpv4Header', 'emitTcpHeader', 'emitUdp', 'emitUdpHeader', 'emitVxlan',
      'encodeDns', 'formatIpv4', 'formatMac', 'frameDnsTcp', 'icmpLen', 'isMalformed', 'isOpt', 'isWireError',
      'optRecord', 'parseArp', 'parseDns', 'parseDnsTcpStream', 'parseEthernet', 'parseIcmp', 'parseIpv4',
      'parseIpv4Header', 'parseMac', 'parseTcp', 'parseTcpOptions', 'parseUdp', 'parseVxlan', 'pseudoHeaderSum',
      'reverseName', 'tcpHeaderLen', 'updateChecksum16', 'updateChecksum32',
    ],
    types: [
      'ArpDissection', 'ArpRepr', 'Cidr', 'DissectOptions', 'DnsDissection', 'DnsEmitOptions', 'DnsHeader', 'DnsMessage',
      'DnsQuestion', 'DnsRData', 'DnsRecord', 'Edns', 'EthDissection', 'EthernetRepr', 'FrameDissection',
      'IcmpDissection', 'IcmpQuoteDissection', 'IcmpRepr', 'IpDissection', 'Ipv4Addr', 'Ipv4Repr', 'MacAddr',
      'MalformedLayer', 'TcpDissection', 'TcpOption', 'TcpRepr', 'UdpDissection', 'UdpRepr', 'VxlanDissection', 'VxlanRepr',
    ],
  },
  'podnet/testing': {
    values: [
      'CounterexampleError', 'EXTERNAL_HOST', 'EXTERNAL_NAME', 'FLOW_KINDS', 'FLOW_SERVICE_KINDS', 'SERVICE_KINDS',
      'affinityStable', 'allowedEndpoints', 'allowedFlowKinds', 'assertScenarios', 'assertVerdict', 'buildScenario',
      'checkInvariants', 'checkScenario', 'clientIpPreserved', 'clusterShapeArb', 'counterexampleFor',
      'deliveredToOneReadyEndpoint', 'describeFlowSpec', 'destinationService', 'findCounterexample', 'flowShapeArb',
      'forgetHairpinMasquerade', 'forgetNodePorts', 'forgetSessionAffinity', 'formatCounterexample',
      'masqueradeLocalPolicy', 'mutateRules', 'mutations', 'noPacketExceedsMtu', 'nodeRules', 'replyFromDialledAddress',
      'ruleMutation', 'runScenario', 'scenario', 'scenarioArb', 'scenarioShapeArb', 'serviceEndpoints',
      'servicePortLabel', 'serviceShapeArb', 'standardInvariants', 'ttlNeverIncreases', 'workloadShapeArb',
    ],
    types: [
      'AddressPlan', 'AllowedEndpoint', 'AllowedEndpoints', 'BackendPodShape', 'ClusterShape', 'Counterexample',
      'FlowKind', 'FlowShape', 'Invariant', 'PropertyOptions', 'RuleMutation', 'RunScenarioOptions', 'Scenario',
      'ScenarioCheck', 'ScenarioConstraints', 'ScenarioRun', 'ScenarioShape', 'ServiceKind', 'ServiceShape', 'Verdict',
      'WorkloadKind', 'WorkloadShape',
    ],
  },
  'podnet/internals': {
    values: [
      'AtomicFileSink', 'MAC_PREFIX', 'MemorySink', 'NetNs', 'Network', 'NetworkIndex', 'PcapWriter', 'PcapngCaptureSink',
      'PcapngWriter', 'Rng', 'Scheduler', 'Tracer', 'World', 'buildNetwork', 'candidates', 'checkFlowSpec',
      'checkKubeProxy', 'defaultFlowName', 'defaultSize', 'digQuestion', 'dropsOf', 'findService', 'flowResult',
      'formatDurationArg', 'innermostIp', 'loadDefaultTopology', 'loadTopologyOrThrow', 'loadTopologyPath',
      'loadTopologyText', 'podDisplayName', 'resolveFlow', 'resolveServiceTarget', 'rulesOfNfHop', 'safeOutputPath',
      'shellQuote', 'translationsOf',
    ],
    types: ['BuildOptions', 'BuiltExternal', 'BuiltNode', 'BuiltPod', 'ByteSink', 'Endpoint', 'ExploredPath', 'KubeProxyOptions'],
  },
};

/** Every entry's exports as the compiler sees them: values, and names that exist only as types. */
function exportsOfEntries(): Record<Entry, { values: string[]; types: string[] }> {
  const files = Object.values(ENTRIES);
  const config = ts.getParsedCommandLineOfConfigFile('tsconfig.json', {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const program = ts.createProgram(files, { ...config!.options, noEmit: true });
  const checker = program.getTypeChecker();
  const out = {} as Record<Entry, { values: string[]; types: string[] }>;
  for (const [entry, file] of Object.entries(ENTRIES) as Array<[Entry, string]>) {
    const source = program.getSourceFile(file)!;
    const values: string[] = [];
    const types: string[] = [];
    for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      // `export type { X }` of a class still names a value; only a type-only export cannot be used as one
      const typeOnly = sym.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration(d)) ?? false;
      (target.flags & ts.SymbolFlags.Value && !typeOnly ? values : types).push(sym.name);
    }
    out[entry] = { values: values.sort(), types: types.sort() };
  }
  return out;
}

describe('the package entries export deliberate lists', () => {
  const actual = exportsOfEntries();
  for (const entry of Object.keys(ENTRIES) as Entry[]) {
    test(`${entry}: exactly the listed values and types`, () => {
      expect(actual[entry].values).toEqual([...EXPECTED[entry].values].sort());
      expect(actual[entry].types).toEqual([...EXPECTED[entry].types].sort());
    });
  }

  test('the values are what the modules export at run time', async () => {
    const loaded: Record<Entry, Record<string, unknown>> = {
      'podnet': await import('../../src/index.js'),
      'podnet/wire': await import('../../src/wire/index.js'),
      'podnet/testing': await import('../../src/testing/index.js'),
      'podnet/internals': await import('../../src/internals.js'),
    };
    for (const entry of Object.keys(ENTRIES) as Entry[]) expect(Object.keys(loaded[entry]).sort(), entry).toEqual([...EXPECTED[entry].values].sort());
  });

  test('package.json exports each entry (and nothing else but package.json)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { import: string }> };
    const built = (e: string): string => `./dist/${e.replace(/^src\//, '').replace(/\.ts$/, '.js')}`;
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './internals', './package.json', './testing', './wire']);
    for (const [entry, file] of Object.entries(ENTRIES)) expect(pkg.exports[entry.replace(/^podnet/, '.')]?.import, entry).toBe(built(file));
  });
});
