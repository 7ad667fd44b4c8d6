/**
 * Hostile and careless input meets documented limits, each named in its message: a device or
 * pipe read up to the input limit, a YAML line longer than any real object, a Scenario sending
 * millions of packets; and names holding escape sequences or megabytes are shown escaped and short.
 */
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InputLimitError,
  MAX_INPUT_BYTES,
  formatDiagnostic,
  loadTopologyPath,
  loadTopologyText,
  readInputText,
} from '../../src/kube/load/index.js';

const POD_TO_POD = readFileSync('topologies/pod-to-pod.yaml', 'utf8');

function errors(r: ReturnType<typeof loadTopologyText>): string[] {
  return r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
}

function withScenario(probes: string): string {
  const head = POD_TO_POD.split('kind: Scenario')[0]!;
  return `${head}kind: Scenario\nmetadata:\n  name: many\nspec:\n  probes:\n${probes}`;
}

describe('input limits', () => {
  test('/dev/zero is read up to the limit and refused, the limit named (it used to grow until memory ran out)', () => {
    expect(() => readInputText('/dev/zero', 1 << 20)).toThrow(InputLimitError);
    expect(() => readInputText('/dev/zero', 1 << 20)).toThrow(/more than 1 MiB, the most input podnet reads/);
    const r = loadTopologyPath('/dev/zero');
    expect(r.model).toBeUndefined();
    expect(errors(r)).toEqual([
      `/dev/zero: error: cannot read: the input passes ${MAX_INPUT_BYTES / 2 ** 20} MiB, the most podnet reads in one run (README "Limits")`,
    ]);
  });

  test('a regular file over the limit is refused before it is read; under it, read whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-limits-'));
    try {
      const f = join(dir, 'x.yaml');
      writeFileSync(f, 'a'.repeat(2000));
      expect(() => readInputText(f, 1999)).toThrow(/more than 1999 bytes/);
      expect(readInputText(f, 2000)).toHaveLength(2000);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('a YAML line of 4 MiB (one long string) is refused at its line before the YAML parser sees it', () => {
    const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: "${'x'.repeat(4 << 20)}"\nspec:\n  containers: [{name: c, image: nginx}]\n`;
    const t0 = performance.now();
    const r = loadTopologyText(text, 'long.yaml');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(errors(r)).toEqual([
      'long.yaml:4:1: error: YAML: a line longer than 3 MiB, the most podnet\'s YAML reader takes (the API server takes no object over 3 MiB; README "Limits")',
    ]);
  });

  test('a Scenario whose probes send more than 1,000,000 packets in all is refused at spec.probes, the limit named', () => {
    const probe = (i: number): string =>
      `    - {name: p${i}, from: client, to: 'pod/web-1:8080', protocol: udp, count: 100000}\n`;
    const over = loadTopologyText(withScenario(Array.from({ length: 11 }, (_, i) => probe(i)).join('')), 'many.yaml');
    expect(errors(over)).toEqual([
      "many.yaml:80:5: error: Scenario many: spec.probes: 1,100,000 probe packets in all (the probes' counts added up), more than the limit of 1,000,000 per run",
    ]);
    const at = loadTopologyText(withScenario(Array.from({ length: 10 }, (_, i) => probe(i)).join('')), 'many.yaml');
    expect(errors(at)).toEqual([]);
    expect(at.model?.scenario?.probes).toHaveLength(10);
  });
});

describe('names from input in messages', () => {
  const pod = (name: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${JSON.stringify(name)}\nspec:\n  containers: [{name: c, image: nginx}]\n`;

  test('escape sequences in a pod name are shown escaped, never raw', () => {
    const r = loadTopologyText(pod('a\u001b]0;pwned\u0007\u001b[2Jb\u009b31m\u007f'), 'inj.yaml');
    const [msg] = errors(r);
    expect(msg).toBeDefined();
    // no C0, DEL or C1 character reaches the terminal
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
    expect(msg).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(msg).toContain('Pod default/a\\x1b]0;pwned\\x07\\x1b[2Jb\\u009b31m\\x7f: metadata.name:');
  });

  test('a 1 MB pod name makes a short message that says how much was left out', () => {
    const r = loadTopologyText(pod('x'.repeat(1_000_000)), 'big.yaml');
    const [msg] = errors(r);
    expect(msg!.length).toBeLessThan(1000);
    expect(msg).toContain(
      `Pod default/${'x'.repeat(200 - 'Pod default/'.length)}…(${1_000_000 - 188} more): metadata.name:`,
    );
  });
});
