/**
 * The kernel conformance suite: every scenario of test/kernel/scenarios, built in real network
 * namespaces from podnet's own network, compared packet by packet at every capture point and
 * probe by probe. A failure prints the mismatch report (with podnet's trace of each packet).
 */
import { describe, expect, test } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadTopologyPath } from '../../src/kube/load/index.js';
import { verifyKernel } from '../../src/verify/verify.js';
import { formatVerifyText } from '../../src/verify/report.js';
import { namePrefix } from '../../src/verify/plan.js';
import { kernelSkip, namespacesWith } from './env.js';

const DIR = join('test', 'kernel', 'scenarios');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe.skipIf(kernelSkip !== undefined)('podnet matches the Linux kernel', () => {
  test.each(FILES)('%s', async (file) => {
    const path = join(DIR, file);
    const loaded = loadTopologyPath(path);
    expect(loaded.model, `${path} loads`).toBeDefined();
    const r = await verifyKernel(loaded.model!, { seed: 1, topology: path });
    const report = formatVerifyText(r);
    // everything this run made is gone
    expect(r.cleanup.leftover).toEqual([]);
    expect(namespacesWith(namePrefix(process.pid))).toEqual([]);
    // every capture point's tcpdump kept every packet
    for (const p of r.points) expect(p.capture?.complete, `${p.point}: tcpdump complete`).toBe(true);
    expect(r.mismatches.length, report).toBe(0);
  });
});
