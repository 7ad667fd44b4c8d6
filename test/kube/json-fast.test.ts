/**
 * The loader's strict-JSON fast path (src/kube/load/json-fast.ts) against the YAML parser it
 * stands in for: on the same JSON text both must give the same model — values and every
 * source position — and the same diagnostics, whatever the values are.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { loadSources } from '../../src/kube/load/load.js';
import { DiagnosticSink } from '../../src/kube/load/diagnostics.js';
import { looksLikeJson, parseJsonFast } from '../../src/kube/load/json-fast.js';
import { generateScaleJson, scaledLimits } from '../../src/bench/scale.js';

const FILES = readdirSync('topologies')
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function objectsOf(file: string): unknown[] {
  return parseAllDocuments(readFileSync(`topologies/${file}`, 'utf8'))
    .map((d) => d.toJS() as unknown)
    .filter((x) => x !== null);
}

function asList(items: unknown[], indent: number | undefined): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, indent);
}

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Map) return { map: [...v] };
  if (v instanceof Set) return { set: [...v] };
  if (typeof v === 'bigint') return `${v}n`;
  return v;
}

function load(text: string, fastJson: boolean): { model: string; diagnostics: string[] } {
  const r = loadSources([{ file: 'cluster.json', text }], ['cluster.json'], new DiagnosticSink(), {
    seed: 1,
    fastJson,
  });
  return {
    model: JSON.stringify(r.model, replacer),
    diagnostics: r.diagnostics.map(
      (d) => `${d.severity} ${d.line}:${d.col} ${d.object ?? ''} ${d.path ?? ''} ${d.message}`,
    ),
  };
}

describe('JSON fast path = YAML parser on JSON text', () => {
  test.each(FILES)(
    '%s as a kubectl List (4-space indent and compact): same model, same positions, same diagnostics',
    (file) => {
      for (const indent of [4, undefined]) {
        const text = asList(objectsOf(file), indent);
        expect(looksLikeJson(text)).toBe(true);
        expect(parseJsonFast(text)).toBeDefined();
        const fast = load(text, true);
        const slow = load(text, false);
        expect(fast.diagnostics).toEqual(slow.diagnostics);
        expect(fast.model).toEqual(slow.model);
        expect(fast.model).not.toBe('undefined');
      }
    },
  );

  test('a generated cluster of 50 nodes and 1,500 pods', () => {
    const text = generateScaleJson(scaledLimits(0.01), 3);
    const fast = load(text, true);
    expect(fast.diagnostics.filter((d) => d.startsWith('error'))).toEqual([]);
    expect(fast).toEqual(load(text, false));
  });

  test('any value in any field: the same diagnostics at the same line:col, and the same model', () => {
    const base = objectsOf('services.yaml');
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.nat(), fc.nat(), json, fc.constantFrom(4, undefined), (docIx, fieldIx, value, indent) => {
        const items = structuredClone(base) as Array<Record<string, unknown>>;
        // replace one field (at any depth) of one object with the generated value
        const doc = items[docIx % items.length]!;
        const paths: Array<[Record<string, unknown> | unknown[], string | number]> = [];
        const walk = (o: unknown): void => {
          if (Array.isArray(o)) {
            for (const [i, x] of o.entries()) {
              paths.push([o, i]);
              walk(x);
            }
          } else if (o !== null && typeof o === 'object') {
            for (const k of Object.keys(o)) {
              paths.push([o as Record<string, unknown>, k]);
              walk((o as Record<string, unknown>)[k]);
            }
          }
        };
        walk(doc);
        const [holder, key] = paths[fieldIx % paths.length]!;
        (holder as Record<string | number, unknown>)[key] = value;
        const text = asList(items, indent);
        expect(load(text, true)).toEqual(load(text, false));
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  test('a duplicate key is reported where it stands', () => {
    const text = '{\n    "apiVersion": "v1",\n    "kind": "List",\n    "kind": "List",\n    "items": []\n}\n';
    const fast = load(text, true);
    expect(fast.diagnostics).toEqual([
      expect.stringMatching(/^error 4:5 +JSON: duplicate key "kind" \(object keys must be unique\)$/),
    ]);
    // the YAML parser finds the same key at the same place
    expect(load(text, false).diagnostics.some((d) => d.startsWith('error 4:5'))).toBe(true);
  });
});
