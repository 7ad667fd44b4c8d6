/**
 * The broken-file corpus: each test/kube/broken/*.yaml starts with one or more
 * `# expect: <line>:<col> <substring>` comment lines; loading the file must produce, for each,
 * an error at exactly that position whose formatted text contains the substring — and no model.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';

const DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'broken');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

interface Expectation {
  readonly line: number;
  readonly col: number;
  readonly text: string;
}

function expectations(text: string): Expectation[] {
  const out: Expectation[] = [];
  for (const line of text.split('\n')) {
    const m = /^# expect: (\d+):(\d+) (.+)$/.exec(line);
    if (!m) break;
    out.push({ line: Number(m[1]), col: Number(m[2]), text: m[3] ?? '' });
  }
  return out;
}

describe('broken topology corpus', () => {
  test('has at least 25 files, each with an expectation on line 1', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(25);
    for (const f of FILES) expect(expectations(readFileSync(join(DIR, f), 'utf8')).length, f).toBeGreaterThan(0);
  });

  test.each(FILES)('%s reports the expected errors at their positions', (file) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    const result = loadTopologyText(text, file);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    const shown = result.diagnostics.map(formatDiagnostic).join('\n');
    expect(result.model, shown).toBeUndefined();
    for (const e of errors) expect(e.line, formatDiagnostic(e)).toBeGreaterThanOrEqual(1);
    for (const want of expectations(text)) {
      const hit = errors.find(
        (d) => d.line === want.line && d.col === want.col && formatDiagnostic(d).includes(want.text),
      );
      expect(
        hit,
        `expected an error at ${want.line}:${want.col} containing ${JSON.stringify(want.text)}; got:\n${shown}`,
      ).toBeDefined();
    }
  });
});
