/** CaptureFiles naming: names derived from input never share a file; --capture patterns are checked. */
import { afterAll, describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureFiles, PointFilter } from '../../src/trace/capture-sink.js';
import { OutputPathError } from '../../src/trace/byte-sink.js';

const dir = fs.mkdtempSync(join(tmpdir(), 'podnet-capture-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const point = (name: string, group: string) => ({ name, group, description: name, role: '' });

describe('CaptureFiles', () => {
  test('two capture points whose file names sanitise alike are an error, not one file written twice', () => {
    const files = new CaptureFiles(dir, 'x.pcap', 'point');
    files.addPoint(point('ext:a/b', 'a'));
    expect(() => files.addPoint(point('ext:a_b', 'a'))).toThrow(OutputPathError);
    expect(() => files.addPoint(point('ext:a_b', 'a'))).toThrow(/both be written to x-ext:a_b\.pcap/);
    files.abort();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('per-node files of a name longer than NAME_MAX stay one per node', () => {
    const files = new CaptureFiles(dir, `${'s'.repeat(300)}-seed1.pcapng`, 'node');
    for (const g of ['node1', 'node2', 'gw']) files.addPoint(point(`${g}/eth0`, g));
    const written = files.commit();
    expect(new Set(written).size).toBe(3);
    for (const f of written) fs.rmSync(f);
  });

  test('the patterns that matched no capture point are reported', () => {
    const files = new CaptureFiles(dir, 'y.pcapng', 'single', new PointFilter(['node1/*', 'nosuch/*']));
    files.addPoint(point('node1/eth0', 'node1'));
    files.addPoint(point('node2/eth0', 'node2'));
    expect(files.unmatchedPatterns()).toEqual(['nosuch/*']);
    expect(files.points).toEqual(['node1/eth0', 'node2/eth0']);
    files.abort();
  });
});
