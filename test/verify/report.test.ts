/** The mismatch report a person acts on: scenario, point, index, field, both values, podnet's trace of the packet. */
import { describe, expect, test } from 'vitest';
import { compareAll, decodeContextFor } from '../../src/verify/verify.js';
import type { VerifyResult } from '../../src/verify/verify.js';
import { formatVerifyText, verifyJson } from '../../src/verify/report.js';
import { EXPECTED_DIFFERENCES } from '../../src/verify/expected.js';
import { asKernel, findFrame, fixIpChecksum, framesOf, scenario } from './helpers.js';

function resultWithTtlBug(): { r: VerifyResult; index: number } {
  const name = 'b-cross-node-ping';
  const model = scenario(name);
  const { run, frames } = framesOf(model, 1);
  const kernel = asKernel(frames);
  const at = kernel.get('node2/cni0')!;
  const index = findFrame(at, (b) => b[14 + 9] === 1);
  const b = at[index]!.bytes;
  b[14 + 8] = b[14 + 8]! + 1;
  fixIpChecksum(b, 14);
  const comparisons = compareAll([...frames.keys()], kernel, frames, decodeContextFor(model));
  const mismatches = comparisons.flatMap((c) => c.mismatches);
  const r: VerifyResult = {
    topology: `test/kernel/scenarios/${name}.yaml`,
    scenario: name,
    seed: 1,
    kernelRelease: 'test',
    prefix: 'pnk1-',
    namespaces: 10,
    windowEnd: run.end,
    lag: 0,
    points: comparisons.map((c) => ({ point: c.point, kernel: c.kernel.length, podnet: c.podnet.length, paired: c.pairs.length, mismatches: c.mismatches.length, capture: { captured: c.kernel.length, received: c.kernel.length, dropped: 0, complete: true }, outside: [] })),
    comparisons,
    probes: [],
    mismatches,
    excused: [],
    expected: EXPECTED_DIFFERENCES,
    tolerated: [],
    notes: [],
    cleanup: { processesStopped: 0, strayProcessesKilled: 0, namespacesDeleted: 10, leftover: [] },
    files: undefined,
    events: run.sink.events,
  };
  return { r, index };
}

describe('verify report', () => {
  test('text: where, what, both values, and podnet’s trace of that packet', () => {
    const { r, index } = resultWithTtlBug();
    const text = formatVerifyText(r);
    expect(text).toContain(`[1] b-cross-node-ping · node2/cni0 kernel #${index + 1} / podnet #${index + 1} · field ip.ttl`);
    expect(text).toMatch(/kernel: 63\n\s+podnet: 62/);
    expect(text).toContain('podnet pcapng comment: sent by node2/cni0');
    expect(text).toMatch(/podnet trace of packet \d+ up to node2\/cni0:/);
    expect(text).toMatch(/node2\s+flannel\.1\s+forward\s+forward flannel\.1 → cni0 .*TTL 63→62/);
    expect(text).toContain('result: MISMATCH (1 difference)');
    expect(text).toContain('expected differences: none defined');
  });

  test('JSON: schema, 1-based indexes and the packet trace', () => {
    const { r, index } = resultWithTtlBug();
    const j = verifyJson(r) as { schema: string; match: boolean; mismatches: Array<Record<string, unknown>> };
    expect(j.schema).toBe('podnet.verify/v1');
    expect(j.match).toBe(false);
    expect(j.mismatches).toHaveLength(1);
    const m = j.mismatches[0]!;
    expect(m).toMatchObject({ kind: 'field', point: 'node2/cni0', kernelIndex: index + 1, podnetIndex: index + 1, field: 'ip.ttl', kernel: '63', podnet: '62' });
    expect((m.podnetTrace as unknown[]).length).toBeGreaterThan(3);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});
