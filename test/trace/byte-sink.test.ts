import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AtomicFileSink,
  MemorySink,
  OutputPathError,
  safeOutputPath,
  writeFileAtomic,
} from '../../src/trace/byte-sink.js';
import { PcapngWriter } from '../../src/trace/pcapng.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podnet-sink-'));
let dir = '';
let n = 0;
beforeEach(() => {
  dir = path.join(root, `case-${n++}`);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const listing = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);

describe('MemorySink', () => {
  it('keeps a copy of each chunk, so callers may reuse their buffers', () => {
    const s = new MemorySink();
    const chunk = Uint8Array.of(1, 2, 3);
    s.write(chunk);
    chunk.fill(9);
    s.write(chunk.subarray(0, 1));
    expect(s.bytes()).toEqual(Uint8Array.of(1, 2, 3, 9));
    expect(s.length).toBe(4);
  });

  it('collects any sequence of chunks as their concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 9000 }), { maxLength: 20 }), (chunks) => {
        const s = new MemorySink();
        for (const c of chunks) s.write(c);
        expect(Buffer.from(s.bytes()).equals(Buffer.concat(chunks))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('AtomicFileSink', () => {
  it('writes to a hidden temp file and renames it into place on commit', () => {
    const sink = AtomicFileSink.open(path.join(dir, 'nested', 'deeper'), 'run.pcapng');
    const folder = path.join(dir, 'nested', 'deeper');
    sink.write(Uint8Array.of(1, 2, 3));
    expect(fs.existsSync(path.join(folder, 'run.pcapng'))).toBe(false);
    const temp = listing(folder);
    expect(temp).toHaveLength(1);
    expect(temp[0]).toMatch(new RegExp(`^\\.podnet-${process.pid}-\\d+\\.tmp$`));
    expect(sink.tempPath).toBe(path.join(folder, temp[0]!));

    const final = sink.commit();
    expect(final).toBe(path.join(path.resolve(folder), 'run.pcapng'));
    expect(sink.finalPath).toBe(final);
    expect(listing(folder)).toEqual(['run.pcapng']);
    expect(new Uint8Array(fs.readFileSync(final))).toEqual(Uint8Array.of(1, 2, 3));
    expect(sink.commit()).toBe(final);
    sink.abort();
    expect(listing(folder)).toEqual(['run.pcapng']);
    expect(() => sink.write(Uint8Array.of(4))).toThrow(/after committed/);
  });

  it('leaves nothing behind on abort, and abort is idempotent', () => {
    const sink = AtomicFileSink.open(dir, 'x.pcap');
    sink.write(new Uint8Array(100_000));
    sink.abort();
    sink.abort();
    expect(listing(dir)).toEqual([]);
    expect(() => sink.commit()).toThrow(/commit after abort/);
    expect(() => sink.write(Uint8Array.of(1))).toThrow(/after aborted/);
  });

  it('replaces an existing file only when committed', () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'a.txt'), 'old');
    const s1 = AtomicFileSink.open(dir, 'a.txt');
    s1.write(new TextEncoder().encode('discarded'));
    s1.abort();
    expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('old');
    const s2 = AtomicFileSink.open(dir, 'a.txt');
    s2.write(new TextEncoder().encode('new'));
    expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('old');
    s2.commit();
    expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('new');
    expect(listing(dir)).toEqual(['a.txt']);
  });

  it('gives concurrent sinks in one folder distinct temp files', () => {
    const a = AtomicFileSink.open(dir, 'same');
    const b = AtomicFileSink.open(dir, 'same');
    expect(a.tempPath).not.toBe(b.tempPath);
    a.write(Uint8Array.of(1));
    b.write(Uint8Array.of(2));
    a.commit();
    b.commit();
    expect(new Uint8Array(fs.readFileSync(path.join(dir, 'same')))).toEqual(Uint8Array.of(2));
    expect(listing(dir)).toEqual(['same']);
  });

  it('stores exactly the bytes written, across buffer boundaries and oversized chunks', () => {
    let i = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 60_000, maxLength: 140_000 })),
          { maxLength: 8 },
        ),
        (chunks) => {
          const sink = AtomicFileSink.open(dir, `p${i++}.bin`);
          for (const c of chunks) sink.write(c);
          const file = sink.commit();
          expect(fs.readFileSync(file).equals(Buffer.concat(chunks))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
    expect(listing(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('sanitizes the file name it is given', () => {
    const sink = AtomicFileSink.open(dir, '../../escape/me');
    const final = sink.commit();
    expect(path.dirname(final)).toBe(path.resolve(dir));
    expect(listing(dir)).toEqual([path.basename(final)]);
  });

  it('produces the same file as MemorySink for the same capture', () => {
    const build = (sink: MemorySink | AtomicFileSink): void => {
      const w = new PcapngWriter(sink, { application: 'podnet' });
      const id = w.addInterface({ name: 'node1/cni0' });
      for (let k = 0; k < 2000; k++)
        w.writePacket(id, 1n << 33n, new Uint8Array(k % 1500).fill(k & 0xff), { comment: `p${k}` });
    };
    const mem = new MemorySink();
    build(mem);
    const f1 = AtomicFileSink.open(dir, 'one.pcapng');
    build(f1);
    const f2 = AtomicFileSink.open(dir, 'two.pcapng');
    build(f2);
    const b1 = fs.readFileSync(f1.commit());
    const b2 = fs.readFileSync(f2.commit());
    expect(b1.equals(b2)).toBe(true);
    expect(b1.equals(Buffer.from(mem.bytes()))).toBe(true);
  });
});

describe('writeFileAtomic', () => {
  it('writes strings as UTF-8 and bytes verbatim, returning the final path', () => {
    const p1 = writeFileAtomic(dir, 'hops.json', '{"é":1}');
    expect(fs.readFileSync(p1, 'utf8')).toBe('{"é":1}');
    const p2 = writeFileAtomic(dir, 'raw.bin', Uint8Array.of(0, 255));
    expect(new Uint8Array(fs.readFileSync(p2))).toEqual(Uint8Array.of(0, 255));
    expect(listing(dir)).toEqual(['hops.json', 'raw.bin']);
  });
});

const SAFE_NAME = /^[A-Za-z0-9_:@+-][A-Za-z0-9._:@+-]*$/;

const hostileName = fc.oneof(
  fc.constantFrom(
    '../../etc/passwd',
    '/abs',
    '/etc/shadow',
    'a/../../b',
    '..',
    '.',
    '',
    '...',
    '.hidden',
    'x\u0000y',
    '\u0000',
    'C:\\Windows\\system32',
    '..\\..\\x',
    'a/./b',
    '~/.ssh/id_rsa',
    'node1/cni0',
    'pod:client/eth0',
    '\n\r\t',
    'ünïcødé/名前',
    '😀'.repeat(150),
  ),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc
    .array(fc.constantFrom('..', '/', '\\', '.', '\u0000', 'a', 'é', ':', '\u202e'), { maxLength: 40 })
    .map((p) => p.join('')),
  fc.string({ unit: 'binary-ascii', minLength: 190, maxLength: 600 }),
);

describe('safeOutputPath', () => {
  it('never escapes the folder and always yields a plain, visible, bounded name', () => {
    fc.assert(
      fc.property(fc.constantFrom('out', './captures/x', '/tmp/podnet-o', '.', 'a/../b'), hostileName, (d, name) => {
        const p = safeOutputPath(d, name);
        const base = path.basename(p);
        expect(path.dirname(p)).toBe(path.resolve(d));
        expect(path.relative(path.resolve(d), p).startsWith('..')).toBe(false);
        expect(base).toMatch(SAFE_NAME);
        expect(base.includes('..')).toBe(false);
        expect(base.length).toBeGreaterThan(0);
        expect(base.length).toBeLessThanOrEqual(255); // NAME_MAX (the name is ASCII: chars are bytes)
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps ordinary names readable and preserves the extension when truncating', () => {
    expect(path.basename(safeOutputPath('d', 'node1/cni0.pcapng'))).toBe('node1_cni0.pcapng');
    expect(path.basename(safeOutputPath('d', 'pod:client/eth0'))).toBe('pod:client_eth0');
    expect(path.basename(safeOutputPath('d', '../../etc/passwd'))).toBe('____etc_passwd');
    expect(path.basename(safeOutputPath('d', '.bashrc'))).toBe('_bashrc');
    expect(path.basename(safeOutputPath('d', ''))).toBe('_');
    const long = path.basename(safeOutputPath('d', `${'a'.repeat(500)}.pcapng`));
    expect(long).toMatch(/^a{237}-[0-9a-f]{10}\.pcapng$/);
    expect(long).toHaveLength(255);
    expect(path.basename(safeOutputPath('d', 'x'.repeat(300)))).toMatch(/^x{244}-[0-9a-f]{10}$/);
    expect(path.basename(safeOutputPath('d', 'x'.repeat(255)))).toBe('x'.repeat(255));
  });

  it('gives names cut to NAME_MAX a hash of the whole name, so they stay distinct', () => {
    const stem = 's'.repeat(300);
    const a = safeOutputPath('d', `${stem}-node1.pcapng`);
    const b = safeOutputPath('d', `${stem}-node2.pcapng`);
    expect(a).not.toBe(b);
    expect(path.basename(a).slice(0, 200)).toBe(path.basename(b).slice(0, 200));
  });

  it('reports refusals with OutputPathError, an Error subclass', () => {
    const e = new OutputPathError('nope');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('OutputPathError');
  });
});
