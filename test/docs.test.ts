/**
 * Citations of the documents in docs/ resolve, so they cannot rot: every "docs/<name>.md §<section>"
 * in the sources, tests, topologies, examples, README.md and docs/ itself names a file that exists
 * and a section that is one of its headings; and nothing cites the documents that used to live
 * outside the repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOTS = ['src', 'test', 'topologies', 'examples', 'docs', 'README.md'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'captures']);
const TEXT_FILE = /\.(ts|js|mjs|cjs|json|ya?ml|md|txt|rules)$/;
/** The folder of documents that were never part of the repository, one level above it. */
const OUTSIDE_DOCS = ['..', 'shared', ''].join('/');

function walk(path: string, out: string[]): string[] {
  if (!existsSync(path)) return out;
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) if (!SKIP_DIRS.has(entry)) walk(join(path, entry), out);
  } else if (TEXT_FILE.test(path)) out.push(path);
  return out;
}

/**
 * A heading's section ids: a leading number (`## 4. flannel` → 4, `### 1.7 Example` → 1.7) and
 * every `§id` written in it (`## §a Same-node ping` → a).
 */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  for (const line of markdown.split('\n')) {
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h === null) continue;
    const text = h[1]!;
    const num = /^(\d+(?:\.\d+)*)\.?\s/.exec(text);
    if (num !== null) ids.add(num[1]!);
    for (const m of text.matchAll(/§([\w.-]*\w)/g)) ids.add(m[1]!);
  }
  return ids;
}

/** One citation: a docs file and the sections named after it (none for the whole file). */
interface Citation {
  readonly file: string;
  readonly sections: readonly string[];
  readonly where: string;
}

/** The citations of docs files in `text`: `docs/x.md`, optionally `§a`, `§a, §b`, `§a and §b`, `§c–§h`. */
function citations(text: string, where: string): Citation[] {
  const out: Citation[] = [];
  const re = /docs\/([\w-]+\.md)((?:(?:\s*,\s*|\s+and\s+|\s*–\s*|\s+)§[\w.-]*\w)*)/g;
  for (const m of text.matchAll(re)) {
    const line = text.slice(0, m.index).split('\n').length;
    const sections = [...m[2]!.matchAll(/§([\w.-]*\w)/g)].map((s) => s[1]!);
    out.push({ file: m[1]!, sections, where: `${where}:${line}` });
  }
  return out;
}

/** This file's own strings are parser fixtures, not citations. */
const SELF = join('test', 'docs.test.ts');
const files = ROOTS.flatMap((r) => walk(r, [])).filter((f) => f !== SELF);
const texts = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const docs = new Map(
  readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => [f, headingIds(readFileSync(join('docs', f), 'utf8'))]),
);

describe('docs/ citations', () => {
  test('the parser reads heading ids and citation lists', () => {
    const md = '# Title\n## 4. flannel\n### 1.7 Example\n### §pitfall-1 A thing\n## §a Ping\ntext §z';
    expect([...headingIds(md)]).toEqual(['4', '1.7', 'pitfall-1', 'a']);
    const c = citations('see docs/kernel-findings.md §c–§h and docs/datapath.md §1.7, §3.\nalso docs/x.md', 'f');
    expect(c.map((x) => `${x.file} ${x.sections.join('|')} ${x.where}`)).toEqual([
      'kernel-findings.md c|h f:1',
      'datapath.md 1.7|3 f:1',
      'x.md  f:2',
    ]);
  });

  test('the documents have the sections the code cites by number and letter', () => {
    const findings = docs.get('kernel-findings.md');
    const datapath = docs.get('datapath.md');
    expect(findings).toBeDefined();
    expect(datapath).toBeDefined();
    const letters = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'];
    for (const s of ['method', 'topology', ...letters]) expect(findings!.has(s)).toBe(true);
    for (const s of ['1', '1.7', '3', '4', '5', '6', '7', '8']) expect(datapath!.has(s)).toBe(true);
  });

  test(`nothing refers to documents outside the repository (${OUTSIDE_DOCS})`, () => {
    const hits = files.flatMap((f) =>
      texts
        .get(f)!
        .split('\n')
        .flatMap((line, i) => (line.includes(OUTSIDE_DOCS) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  test('every cited docs file and section exists', () => {
    const all = files.flatMap((f) => citations(texts.get(f)!, f));
    // the scan is not vacuous: the code cites both documents, by section
    expect(all.filter((c) => c.file === 'kernel-findings.md' && c.sections.length > 0).length).toBeGreaterThan(20);
    expect(all.filter((c) => c.file === 'datapath.md' && c.sections.length > 0).length).toBeGreaterThan(5);
    const broken = all.flatMap((c) => {
      const ids = docs.get(c.file);
      if (ids === undefined) return [`${c.where}: docs/${c.file} does not exist`];
      return c.sections.filter((s) => !ids.has(s)).map((s) => `${c.where}: docs/${c.file} has no section §${s}`);
    });
    expect(broken).toEqual([]);
  });
});
