/**
 * Robustness: mutated versions of the valid example files never make the loader throw; they
 * either still load, or produce at least one positioned error (line ≥ 1), never an internal error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_YAML } from '../../src/kube/default-topology.js';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';

const TOPOLOGIES = fileURLToPath(new URL('../../topologies/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SOURCES: ReadonlyArray<readonly [string, string]> = [
  ['default', DEFAULT_TOPOLOGY_YAML],
  ...['pod-to-pod.yaml', 'k3s-style.yaml', 'mtu.yaml', 'services.yaml'].map(
    (f) => [f, readFileSync(join(TOPOLOGIES, f), 'utf8')] as const,
  ),
  // Services, Endpoints and EndpointSlices, exported and hand-written
  ['services-export.yaml', readFileSync(join(FIXTURES, 'services-export.yaml'), 'utf8')],
  // workloads, Node objects and addons
  ...['deployment.yaml', 'statefulset.yaml', 'daemonset.yaml', 'namespaces.yaml', 'externalname.yaml'].map(
    (f) => [`workloads:${f}`, readFileSync(join(TOPOLOGIES, f), 'utf8')] as const,
  ),
  ['workloads:workloads.yaml', readFileSync(join(FIXTURES, 'workloads.yaml'), 'utf8')],
  ['workloads:tutorial.yaml', readFileSync(join(FIXTURES, 'tutorial.yaml'), 'utf8')],
  // the folder example's files as one text, as the folder loads
  [
    'workloads:shop/',
    ['backend.yaml', 'cluster.yaml', 'frontend.yaml', 'scenario.yaml']
      .map((f) => readFileSync(join(TOPOLOGIES, 'shop', f), 'utf8'))
      .join('---\n'),
  ],
];

/** A real cluster's export (3600 lines, so fewer runs). */
const EXPORT = readFileSync(join(FIXTURES, 'kubeadm-export.yaml'), 'utf8');

/** A replacement for a scalar value: strings, numbers, lists, maps, nulls and YAML oddities. */
const scalarReplacement = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -100_000, max: 100_000 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom(
    'null',
    '~',
    '',
    '[]',
    '{}',
    '[1, 2]',
    '{ a: 1 }',
    'true',
    'no',
    '0x10',
    '1e400',
    '-0',
    '.inf',
    '&a x',
    '*a',
    '!!binary x',
    "'",
    '"',
    '|',
    '>-',
    '- x',
    '<<: 1',
  ),
  fc
    .array(fc.oneof(fc.integer().map(String), fc.constantFrom('a', 'null', '{}')), { maxLength: 3 })
    .map((xs) => `[${xs.join(', ')}]`),
);

const noise = fc.oneof(
  fc.string({ minLength: 1, maxLength: 6 }),
  fc.constantFrom(
    ':',
    '- ',
    '\t',
    '{',
    '}',
    '[',
    ']',
    '"',
    "'",
    '#',
    '&x',
    '*x',
    '!',
    '|',
    '>',
    '---\n',
    '...\n',
    '\n',
    '  ',
    '%',
    '@',
    '`',
    '\u0000',
    '\uFEFF',
    '<<: *x\n',
  ),
);

type Mutation = (text: string) => string;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map(
    (i): Mutation =>
      (t) => {
        const lines = t.split('\n');
        lines.splice(i % lines.length, 1);
        return lines.join('\n');
      },
  ),
  fc.nat().map(
    (i): Mutation =>
      (t) => {
        const lines = t.split('\n');
        const k = i % lines.length;
        lines.splice(k, 0, lines[k] ?? '');
        return lines.join('\n');
      },
  ),
  fc.tuple(fc.nat(), scalarReplacement).map(
    ([i, value]): Mutation =>
      (t) => {
        const lines = t.split('\n');
        const candidates = lines.map((l, k) => [l, k] as const).filter(([l]) => /^\s*(- )?[A-Za-z][\w.-]*: \S/.test(l));
        const pick = candidates[i % Math.max(1, candidates.length)];
        if (pick === undefined) return t;
        const [line, k] = pick;
        lines[k] = line.replace(/^(\s*(?:- )?[A-Za-z][\w.-]*: ).*$/, `$1${value}`);
        return lines.join('\n');
      },
  ),
  fc.nat().map(
    (i): Mutation =>
      (t) =>
        t.slice(0, i % (t.length + 1)),
  ),
  fc.tuple(fc.nat(), noise).map(
    ([i, s]): Mutation =>
      (t) => {
        const at = i % (t.length + 1);
        return t.slice(0, at) + s + t.slice(at);
      },
  ),
);

function check(text: string): void {
  let result: ReturnType<typeof loadTopologyText> | undefined;
  expect(() => {
    result = loadTopologyText(text, 'fuzz.yaml');
  }).not.toThrow();
  if (result === undefined) return;
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  const shown = result.diagnostics.map(formatDiagnostic).join('\n');
  if (result.model === undefined) expect(errors.length, shown).toBeGreaterThanOrEqual(1);
  else expect(errors, shown).toEqual([]);
  for (const d of result.diagnostics) {
    expect(d.line, formatDiagnostic(d)).toBeGreaterThanOrEqual(1);
    expect(d.col, formatDiagnostic(d)).toBeGreaterThanOrEqual(1);
    expect(d.message, formatDiagnostic(d)).not.toContain('internal error');
    expect(d.message).not.toMatch(/\n\s+at /);
  }
}

describe('mutated example topologies', () => {
  test('a single mutation never throws; the result is a model or positioned errors', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SOURCES), mutation, ([, text], m) => check(m(text))),
      { numRuns: 600 },
    );
  });

  test('several mutations at once never throw either', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SOURCES), fc.array(mutation, { minLength: 2, maxLength: 6 }), ([, text], ms) =>
        check(ms.reduce((t, m) => m(t), text)),
      ),
      { numRuns: 400 },
    );
  });

  test('mutations of the Service, Endpoints and EndpointSlice sources never throw', () => {
    const services = SOURCES.filter(([name]) => name.startsWith('services'));
    fc.assert(
      fc.property(fc.constantFrom(...services), fc.array(mutation, { minLength: 1, maxLength: 3 }), ([, text], ms) =>
        check(ms.reduce((t, m) => m(t), text)),
      ),
      { numRuns: 400 },
    );
  });

  test('mutations of the workload, Node and addon sources never throw', () => {
    const workloads = SOURCES.filter(([name]) => name.startsWith('workloads:'));
    fc.assert(
      fc.property(fc.constantFrom(...workloads), fc.array(mutation, { minLength: 1, maxLength: 4 }), ([, text], ms) =>
        check(ms.reduce((t, m) => m(t), text)),
      ),
      { numRuns: 500 },
    );
  });

  test('mutations of an exported kubeadm cluster (pods, services, endpoints, nodes) never throw', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (ms) => check(ms.reduce((t, m) => m(t), EXPORT))),
      { numRuns: 60 },
    );
  });

  test('the unmutated sources load', () => {
    for (const [name, text] of SOURCES) expect(loadTopologyText(text, name).model, name).toBeDefined();
    expect(loadTopologyText(EXPORT, 'kubeadm-export.yaml').model).toBeDefined();
  });
});
