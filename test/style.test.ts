/**
 * No source line over 120 characters without reason. The formatter (Biome, `npm run lint`) wraps
 * code at 120 columns but cannot break a literal, so a longer line is accepted only where a
 * string, template or regular-expression literal makes it long: messages and patterns stay whole,
 * so they can be found with grep. Comments can always be wrapped, and code around a literal too.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const WIDTH = 120;

/** For each line of a file, how many of its characters lie inside a literal. */
function literalCharsPerLine(text: string, file: string): number[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const inLiteral = new Uint8Array(text.length);
  const mark = (start: number, end: number): void => {
    inLiteral.fill(1, start, end);
  };
  const visit = (n: ts.Node): void => {
    switch (n.kind) {
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
      case ts.SyntaxKind.RegularExpressionLiteral:
      case ts.SyntaxKind.TemplateHead:
      case ts.SyntaxKind.TemplateMiddle:
      case ts.SyntaxKind.TemplateTail:
        mark(n.getStart(sf), n.getEnd());
        break;
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  const counts: number[] = [];
  let pos = 0;
  for (const line of text.split('\n')) {
    let c = 0;
    for (let i = pos; i < pos + line.length; i++) c += inLiteral[i]!;
    counts.push(c);
    pos += line.length + 1;
  }
  return counts;
}

const files = execFileSync('git', ['ls-files', 'src/*.ts', 'test/*.ts', 'examples/property-suite/test/*.ts'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f.endsWith('.ts'));

describe('source lines', () => {
  it('stay within 120 characters unless a literal makes them longer', () => {
    const over: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const lines = text.split('\n');
      if (!lines.some((l) => l.length > WIDTH)) continue;
      const literal = literalCharsPerLine(text, f);
      lines.forEach((l, i) => {
        if (l.length > WIDTH && l.length - literal[i]! > WIDTH && !/https?:\/\//.test(l))
          over.push(`${f}:${i + 1} (${l.length})`);
      });
    }
    expect(over).toEqual([]);
  });

  it('the check notices a long line of code and accepts a long message', () => {
    const code = `const a = ${'x + '.repeat(40)}1;\n`;
    const message = `throw new Error('${'a long message '.repeat(12)}');\n`;
    expect(literalCharsPerLine(code, 'a.ts')[0]).toBe(0);
    expect(message.length - literalCharsPerLine(message, 'b.ts')[0]!).toBeLessThan(WIDTH);
  });
});
