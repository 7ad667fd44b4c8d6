/** Durations carry a unit (Go's syntax), in YAML and text; a bare number is refused; the limit is named. */
import { describe, expect, test } from 'vitest';
import { MAX_DURATION, parseDuration } from '../../src/sim/time.js';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';
import { resolveFlow } from '../../src/api/flow.js';
import { FlowError } from '../../src/api/errors.js';
import { model, twoNodeCluster } from '../helpers.js';

const ns = (t: string): number | string => {
  const d = parseDuration(t);
  return d.ok ? d.ns : d.error;
};

describe('parseDuration', () => {
  test('ns us µs ms s m h, decimals and Go-style combinations', () => {
    expect(ns('7ns')).toBe(7);
    expect(ns('500us')).toBe(500_000);
    expect(ns('500µs')).toBe(500_000);
    expect(ns('2.5ms')).toBe(2_500_000);
    expect(ns('1.5s')).toBe(1_500_000_000);
    expect(ns('2m')).toBe(120e9);
    expect(ns('1h')).toBe(3600e9);
    expect(ns('1h30m')).toBe(5400e9);
    expect(ns('0')).toBe(0);
  });

  test('a bare number is refused with the units; so is an unknown unit', () => {
    expect(ns('10')).toMatch(/"10" has no unit: write e\.g\. 10s or 10ms \(units ns, us \(or µs\), ms, s, m, h\)/);
    expect(ns('5parsecs')).toMatch(/got "5parsecs"/);
    expect(ns('1d')).toMatch(/got "1d"/);
    expect(ns('-1s')).toMatch(/got "-1s"/);
    expect(ns('')).toMatch(/got ""/);
  });

  test('past 2^53 ns the error names the limit, about 104 days', () => {
    expect(ns('2501h')).toBe(2501 * 3600e9);
    expect(ns('24000h')).toBe('"24000h" is longer than the limit, 2501h (about 104 days)');
    expect(MAX_DURATION).toBe(2 ** 53 - 1);
  });
});

const scenario = (probe: string): string =>
  twoNodeCluster(`---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: { name: d }
spec:
  probes:
    - { name: p, from: client, to: pod/web-1:8080, protocol: tcp, ${probe} }
`);

describe('YAML durations', () => {
  test('2m and 1h load', () => {
    const r = loadTopologyText(scenario('interval: 2m, timeout: 1h, start: 1m30s'), 'd.yaml');
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    expect(r.model?.scenario?.probes[0]).toMatchObject({ interval: 120e9, timeout: 3600e9, start: 90e9 });
  });

  test('timeout: 10 is an error at the field saying it has no unit (it was 10 ns)', () => {
    const r = loadTopologyText(scenario('timeout: 10'), 'd.yaml');
    const errs = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^d\.yaml:\d+:\d+: .*timeout.*"10" has no unit/);
  });

  test('a duration past the limit names it', () => {
    const r = loadTopologyText(scenario('timeout: 24000h'), 'd.yaml');
    const errs = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errs.join('\n')).toContain('2501h (about 104 days)');
  });
});

describe('library durations', () => {
  const m = model(twoNodeCluster());
  test('a number is nanoseconds (as documented); text needs a unit', () => {
    expect(resolveFlow(m, { from: 'client', to: 'pod/web-1:8080', timeout: 5e8 }).timeout).toBe(5e8);
    expect(resolveFlow(m, { from: 'client', to: 'pod/web-1:8080', timeout: '2m' }).timeout).toBe(120e9);
    expect(() => resolveFlow(m, { from: 'client', to: 'pod/web-1:8080', timeout: '10' })).toThrow(FlowError);
    expect(() => resolveFlow(m, { from: 'client', to: 'pod/web-1:8080', interval: 1e17 })).toThrow(/104 days/);
  });
});

describe('a probe that ends past the limit', () => {
  test('is an error in YAML naming the limit (each duration alone fits)', () => {
    const r = loadTopologyText(scenario('count: 3, interval: 2400h'), 'd.yaml');
    const errs = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/interval.*ends past the limit of virtual time, 2501h \(about 104 days\)/);
  });
});
