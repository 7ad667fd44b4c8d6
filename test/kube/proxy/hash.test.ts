/** kube-proxy chain names: base32(sha256(name + protocol [+ ip:port]))[:16]. */
import { describe, expect, it } from 'vitest';
import {
  base32,
  extChain,
  fwChain,
  portProtoHash,
  sepChain,
  servicePortEndpointChainName,
  servicePortName,
  svcChain,
  svlChain,
} from '../../../src/kube/agents/kube-proxy/hash.js';

describe('chain name hashes', () => {
  it('match names seen on real clusters', () => {
    expect(svcChain('default/kubernetes:https', 'TCP')).toBe('KUBE-SVC-NPX46M4PTMTKRN6Y');
    expect(svcChain('kube-system/kube-dns:dns', 'UDP')).toBe('KUBE-SVC-TCOU7JCQXEZGVUNU');
    expect(portProtoHash('default/kubernetes:https', 'tcp')).toBe('NPX46M4PTMTKRN6Y');
  });

  it('match docs/datapath.md §1.7 for default/web:http and its three endpoints', () => {
    expect(svcChain('default/web:http', 'tcp')).toBe('KUBE-SVC-CDGGSHYLG3RE2FKL');
    expect(extChain('default/web:http', 'tcp')).toBe('KUBE-EXT-CDGGSHYLG3RE2FKL');
    expect(sepChain('default/web:http', 'TCP', '10.244.0.5:8080')).toBe('KUBE-SEP-7U6MWNJWR3SADOJA');
    expect(sepChain('default/web:http', 'TCP', '10.244.1.7:8080')).toBe('KUBE-SEP-A4JCWMD6AMIS43DD');
    expect(sepChain('default/web:http', 'TCP', '10.244.1.8:8080')).toBe('KUBE-SEP-FZKIUYKCK5HASUBH');
  });

  it("match the kernel oracle's chains", () => {
    expect(svcChain('default/web-local:http', 'tcp')).toBe('KUBE-SVC-V7ZMVOA2AOW6ATRL');
    expect(svlChain('default/web-local:http', 'tcp')).toBe('KUBE-SVL-V7ZMVOA2AOW6ATRL');
    expect(svcChain('default/web-sticky:http', 'tcp')).toBe('KUBE-SVC-ECL5JCJ5G54Z6IJU');
    expect(sepChain('default/web:http', 'tcp', '10.244.1.2:8080')).toBe('KUBE-SEP-UIQK3OSOSTRHRPBX');
    expect(sepChain('default/web:http', 'tcp', '10.244.2.2:8080')).toBe('KUBE-SEP-4EX2N4PG4ASNZOBF');
    expect(sepChain('default/web:http', 'tcp', '10.244.3.2:8080')).toBe('KUBE-SEP-UTFLDO4GY7FI2SFB');
    expect(sepChain('default/web-local:http', 'tcp', '10.244.1.2:8080')).toBe('KUBE-SEP-FEMFP27ZXWECPQLF');
    expect(sepChain('default/web-sticky:http', 'tcp', '10.244.1.2:8080')).toBe('KUBE-SEP-6V26E5DFMAN7QINX');
    expect(sepChain('default/web-sticky:http', 'tcp', '10.244.2.2:8080')).toBe('KUBE-SEP-5SGWJNYQGWQWB72C');
    expect(sepChain('default/web-sticky:http', 'tcp', '10.244.3.2:8080')).toBe('KUBE-SEP-TWAJI45GXBGJSEQN');
  });

  it('share one suffix between SVC, SVL, EXT and FW; the protocol is part of the hash', () => {
    const h = portProtoHash('ns/svc:p', 'tcp');
    expect([
      svcChain('ns/svc:p', 'TCP'),
      svlChain('ns/svc:p', 'TCP'),
      extChain('ns/svc:p', 'TCP'),
      fwChain('ns/svc:p', 'TCP'),
    ]).toEqual([`KUBE-SVC-${h}`, `KUBE-SVL-${h}`, `KUBE-EXT-${h}`, `KUBE-FW-${h}`]);
    expect(portProtoHash('ns/svc:p', 'udp')).not.toBe(h);
    expect(servicePortEndpointChainName('ns/svc:p', 'tcp', '10.0.0.1:80')).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
  });

  it('name service ports like proxy.ServicePortName.String', () => {
    expect(servicePortName('default', 'web', 'http')).toBe('default/web:http');
    expect(servicePortName('default', 'web', undefined)).toBe('default/web');
    expect(servicePortName('default', 'web', '')).toBe('default/web');
  });

  it('encode base32 like Go (RFC 4648 test vectors)', () => {
    const enc = (s: string): string => base32(new TextEncoder().encode(s));
    expect(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map(enc)).toEqual([
      '',
      'MY======',
      'MZXQ====',
      'MZXW6===',
      'MZXW6YQ=',
      'MZXW6YTB',
      'MZXW6YTBOI======',
    ]);
  });
});
