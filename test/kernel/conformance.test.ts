/**
 * The kernel conformance suite: every scenario of test/kernel/scenarios, built in real network
 * namespaces from podnet's own network, compared packet by packet at every capture point and
 * probe by probe. A failure prints the mismatch report (with podnet's trace of each packet).
 *
 * Service scenarios (c–h, u) also check the backend choices: every kernel choice is read from
 * the captures (or the DNAT counters), is one podnet lists, and is forced in podnet's replay;
 * and the kernel's random choices must not differ significantly from podnet's own unforced ones
 * (chi-square test of homogeneity at α = 0.001; d and e have enough flows for it to apply).
 */
import { describe, expect, test } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { ETC_NETNS } from '../../src/verify/host.js';
import { join } from 'node:path';
import { loadTopologyPath } from '../../src/kube/load/index.js';
import { verifyKernel } from '../../src/verify/verify.js';
import { distributionLine, formatVerifyText } from '../../src/verify/report.js';
import { namePrefix } from '../../src/verify/plan.js';
import { DISTRIBUTION_ALPHA } from '../../src/verify/stats.js';
import { kernelSkip, namespacesWith } from './env.js';

const DIR = join('test', 'kernel', 'scenarios');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** Scenarios with enough random choices that the distribution test must apply. */
const DISTRIBUTION_APPLIES = new Set(['d-clusterip-tcp.yaml', 'e-nodeport-cluster.yaml']);

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
    // and so are the /etc/netns files glibc read in them
    expect(
      existsSync(ETC_NETNS) ? readdirSync(ETC_NETNS).filter((f) => f.startsWith(namePrefix(process.pid))) : [],
    ).toEqual([]);
    // every capture point's tcpdump kept every packet
    for (const p of r.points) expect(p.capture?.complete, `${p.point}: tcpdump complete`).toBe(true);
    if (r.services !== undefined) {
      const s = r.services;
      console.log(
        `${file}: backend choices: ${distributionLine(s)}${r.excused.length > 0 ? `; excused by expected differences: ${r.excused.length}` : ''}`,
      );
      // every kernel choice could be told (captures or DNAT counters)
      expect(s.kernel.problems, report).toEqual([]);
      if (DISTRIBUTION_APPLIES.has(file)) expect(s.distribution.applicable, report).toBe(true);
      if (s.distribution.applicable) expect(s.distribution.p!, report).toBeGreaterThanOrEqual(DISTRIBUTION_ALPHA);
    }
    expect(r.mismatches.length, report).toBe(0);
  });
});
