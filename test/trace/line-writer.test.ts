import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { BufferedLineWriter } from '../../src/trace/line-writer.js';

describe('buffered line writer', () => {
  test('writes nothing until the buffer is full, then whole lines in order; flush writes the rest', () => {
    const chunks: string[] = [];
    const w = new BufferedLineWriter((c) => chunks.push(c), 20);
    w.line('0123456789');
    expect(chunks).toEqual([]);
    w.line('abcdefghi');
    expect(chunks).toEqual(['0123456789\nabcdefghi\n']);
    w.line('x');
    w.flush();
    w.flush();
    expect(chunks).toEqual(['0123456789\nabcdefghi\n', 'x\n']);
  });

  test('the concatenated chunks are the lines, each with its newline, whatever the sizes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 200 }),
        (lines, size) => {
          const chunks: string[] = [];
          const w = new BufferedLineWriter((c) => chunks.push(c), size);
          for (const l of lines) w.line(l);
          w.flush();
          expect(chunks.join('')).toBe(lines.map((l) => `${l}\n`).join(''));
          for (const c of chunks) expect(c.endsWith('\n')).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
