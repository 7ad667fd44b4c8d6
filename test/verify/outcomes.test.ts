/**
 * A UDP attempt ended by a socket error reads the same on both sides: compared by errno, not by Node's or podnet's
 * wording.
 */
import { describe, expect, test } from 'vitest';
import { agentOutcome, podnetOutcomes } from '../../src/verify/probes.js';
import type { KernelProbeOutput } from '../../src/verify/kernel-run.js';
import type { ProbeReport } from '../../src/apps/probe.js';

function kernel(line: Record<string, unknown>): KernelProbeOutput {
  return {
    stdout: `READY\n${JSON.stringify({ attempt: 0, localPort: 40500, ...line })}\n`,
    stderr: '',
    exitCode: 0,
    killed: false,
  } as unknown as KernelProbeOutput;
}

function podnet(errno: string | undefined, error: string): ProbeReport {
  return { protocol: 'udp', attempts: [{ index: 0, ok: false, sent: true, error, errno }] } as unknown as ProbeReport;
}

describe('UDP socket errors', () => {
  test.each([
    [
      'EMSGSIZE',
      'recvmsg EMSGSIZE',
      'From 172.18.0.2: Frag needed and DF set (mtu = 1450)',
      'error: socket error EMSGSIZE',
    ],
    [
      'ECONNREFUSED',
      'recvmsg ECONNREFUSED',
      'From 10.96.0.50: Destination Port Unreachable',
      'error: Connection refused',
    ],
  ])('%s: the kernel agent and podnet give the same outcome', (errno, nodeText, podnetText, outcome) => {
    expect(agentOutcome(kernel({ ok: false, data: '', from: null, error: nodeText, errno }), true)).toBe(outcome);
    expect(podnetOutcomes(podnet(errno, podnetText), true)).toEqual([outcome]);
  });

  test('different errnos stay different, and a timeout is not an errno', () => {
    expect(
      agentOutcome(
        kernel({ ok: false, data: '', from: null, error: 'recvmsg EHOSTUNREACH', errno: 'EHOSTUNREACH' }),
        true,
      ),
    ).not.toBe(podnetOutcomes(podnet('EMSGSIZE', 'x'), true)[0]);
    expect(agentOutcome(kernel({ ok: false, data: '', from: null, error: 'no reply' }), true)).toBe('error: no reply');
    expect(podnetOutcomes(podnet(undefined, 'no reply'), true)).toEqual(['error: no reply']);
  });
});
