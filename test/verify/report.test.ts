/** The mismatch report a person acts on: scenario, point, index, field, both values, podnet's trace of the packet. */
import { describe, expect, test } from 'vitest';
import { compareAll, decodeContextFor, podnetFrames } from '../../src/verify/verify.js';
import type { VerifyResult } from '../../src/verify/verify.js';
import { formatVerifyText, verifyJson } from '../../src/verify/report.js';
import { EXPECTED_DIFFERENCES } from '../../src/verify/expected.js';
import { asKernel, findFrame, fixIpChecksum, framesOf, scenario } from './helpers.js';
import {
  annotateForced,
  checkServices,
  connLabels,
  podnetSide,
  runWatched,
  serviceProbesOf,
} from '../../src/verify/service-check.js';
import { applyExpected } from '../../src/verify/expected.js';

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
    points: comparisons.map((c) => ({
      point: c.point,
      kernel: c.kernel.length,
      podnet: c.podnet.length,
      paired: c.pairs.length,
      mismatches: c.mismatches.length,
      capture: { captured: c.kernel.length, received: c.kernel.length, dropped: 0, complete: true },
      outside: [],
    })),
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
    expect(text).toContain(
      `[1] b-cross-node-ping · node2/cni0 kernel #${index + 1} / podnet #${index + 1} · field ip.ttl`,
    );
    expect(text).toMatch(/kernel: 63\n\s+podnet: 62/);
    expect(text).toContain('podnet pcapng comment: sent by node2/cni0');
    expect(text).toMatch(/podnet trace of packet \d+ up to node2\/cni0:/);
    expect(text).toMatch(/node2\s+flannel\.1\s+forward\s+forward flannel\.1 → cni0 .*TTL 63→62/);
    expect(text).toContain('result: MISMATCH (1 difference)');
    // the expected differences in force are listed in every report, whether they excused anything or not
    expect(text).toContain(
      `expected differences: ${EXPECTED_DIFFERENCES.length === 0 ? 'none defined' : `\n  ${EXPECTED_DIFFERENCES[0]!.id} (until `}`,
    );
  });

  test('JSON: schema, 1-based indexes and the packet trace', () => {
    const { r, index } = resultWithTtlBug();
    const j = verifyJson(r) as { schema: string; match: boolean; mismatches: Array<Record<string, unknown>> };
    expect(j.schema).toBe('podnet.verify/v1');
    expect(j.match).toBe(false);
    expect(j.mismatches).toHaveLength(1);
    const m = j.mismatches[0]!;
    expect(m).toMatchObject({
      kind: 'field',
      point: 'node2/cni0',
      kernelIndex: index + 1,
      podnetIndex: index + 1,
      field: 'ip.ttl',
      kernel: '63',
      podnet: '62',
    });
    expect((m.podnetTrace as unknown[]).length).toBeGreaterThan(3);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});

/** h-hairpin with podnet seed 7 standing in for the kernel, and one TTL changed on web-0's first self-connection. */
function hairpinResultWithTtlBug(): { r: VerifyResult; index: number } {
  const name = 'h-hairpin';
  const model = scenario(name);
  const sps = serviceProbesOf(model, 1);
  const side = podnetSide(runWatched(model, 7, sps).run);
  const kFrames = asKernel(new Map([...side.frames].map(([p, fs]) => [p, [...fs]])));
  const check = checkServices(model, 1, runWatched(model, 1, sps), { ...side, frames: kFrames });
  // the first SYN web-0 receives from 10.244.1.1 (the hairpinned self-connection, after MASQUERADE)
  const at = kFrames.get('pod:web-0/eth0')!;
  const index = findFrame(
    at,
    (b) => b[14 + 9] === 6 && b[14 + 12] === 10 && b[14 + 15] === 1 && b[14 + 20 + 13] === 0x02,
  );
  expect(index).toBeGreaterThanOrEqual(0);
  const b = at[index]!.bytes;
  b[14 + 8] = b[14 + 8]! - 1;
  fixIpChecksum(b, 14);
  const frames = podnetFrames(check.replay);
  const comparisons = compareAll([...frames.keys()], kFrames, frames, decodeContextFor(model), {
    labels: connLabels(check),
  });
  const all = [
    ...check.mismatches,
    ...comparisons.flatMap((c) => annotateForced(c.mismatches, comparisons, check, check.replay.sim.network)),
  ];
  const { real, excused } = applyExpected(all, name);
  const r: VerifyResult = {
    topology: `test/kernel/scenarios/${name}.yaml`,
    scenario: name,
    seed: 1,
    kernelRelease: 'test',
    prefix: 'pnk1-',
    namespaces: 10,
    windowEnd: check.replay.end,
    lag: 0,
    points: comparisons.map((c) => ({
      point: c.point,
      kernel: c.kernel.length,
      podnet: c.podnet.length,
      paired: c.pairs.length,
      mismatches: c.mismatches.length,
      capture: { captured: c.kernel.length, received: c.kernel.length, dropped: 0, complete: true },
      outside: [],
    })),
    comparisons,
    probes: [],
    mismatches: real,
    excused,
    expected: EXPECTED_DIFFERENCES,
    tolerated: [],
    notes: [],
    cleanup: { processesStopped: 0, strayProcessesKilled: 0, namespacesDeleted: 10, leftover: [] },
    files: undefined,
    events: check.replay.sink.events,
    services: check,
  };
  return { r, index };
}

describe('verify report of a Service scenario', () => {
  test('text: the backend choices, the distribution test, and the forced choice on the mismatched packet', () => {
    const { r, index } = hairpinResultWithTtlBug();
    const text = formatVerifyText(r);
    expect(text).toContain("backend choices (Service probes: the kernel's backend for each SYN");
    expect(text).toMatch(
      / {2}hairpin-30 +ClusterIP 10\.96\.0\.100:80 +n1 +KUBE-SVC-\S+ +web-0, web-1, web-2 +web-0 \d+, web-1 \d+, web-2 \d+ +web-0 \d+, web-1 \d+, web-2 \d+/,
    );
    expect(text).toMatch(
      /distribution of random choices \(chi-square test of homogeneity, α = 0\.001\): kernel web-0 \d+, web-1 \d+, web-2 \d+ \(n=30\) vs podnet unforced web-0 \d+, web-1 \d+, web-2 \d+ \(n=30\): χ² = [\d.]+, df 2, p = [\d.e-]+ ≥ α = 0\.001 → no significant difference/,
    );
    expect(r.mismatches).toHaveLength(1);
    expect(text).toContain(`[1] h-hairpin · pod:web-0/eth0 kernel #${index + 1} / podnet #${index + 1} · field ip.ttl`);
    expect(text).toMatch(
      / {6}forced: replayed with backend web-0 forced, as the kernel chose \(probe hairpin-30 attempt \d+\)/,
    );
    expect(text).toMatch(/podnet trace of packet \d+ up to pod:web-0\/eth0:/);
  });

  test('JSON: the choices, the distribution and the forced choice', () => {
    const { r } = hairpinResultWithTtlBug();
    const j = verifyJson(r) as {
      services: { choices: unknown[]; distribution: Record<string, unknown> };
      mismatches: Array<Record<string, unknown>>;
    };
    expect(j.services.choices).toHaveLength(30);
    expect(j.services.distribution).toMatchObject({
      test: 'chi-square test of homogeneity',
      alpha: 0.001,
      applicable: true,
      ok: true,
      df: 2,
    });
    expect(j.mismatches[0]).toMatchObject({
      kind: 'field',
      field: 'ip.ttl',
      service: { probe: 'hairpin-30', podnetPortReused: false },
    });
    expect(String(j.mismatches[0]!.forced)).toMatch(/^replayed with backend web-0 forced, as the kernel chose/);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});
