/**
 * Backend-choice replay without root (podnet with another seed stands in for the kernel):
 * reading the choices from captures and DNAT counters, what podnet lists, forcing them, the
 * distribution test, the affinity lists, and that watching changes nothing.
 */
import { describe, expect, test } from 'vitest';
import { runPodnet } from '../../src/verify/podnet-run.js';
import { podnetFrames } from '../../src/verify/verify.js';
import { checkServices, podnetSide, runWatched, serviceProbesOf } from '../../src/verify/service-check.js';
import type { ServiceSide } from '../../src/verify/service-check.js';
import {
  compareChoices,
  compareRecent,
  endpointName,
  extractChoices,
  parseDnatCounters,
  parseXtRecent,
  slotKey,
} from '../../src/verify/services.js';
import { DISTRIBUTION_ALPHA, chiSquareHomogeneity, chiSquareSurvival, gammaQ } from '../../src/verify/stats.js';
import { asKernel, line, replayAgainst, scenario } from './helpers.js';

describe('which probes talk to a Service, and what podnet lists for them', () => {
  test('ClusterIP from a pod: the client node decides among KUBE-SVC’s three endpoints', () => {
    const sps = serviceProbesOf(scenario('d-clusterip-tcp'), 1);
    expect(
      sps.map((s) => [
        s.name,
        s.via,
        s.entryNode,
        s.clientPoint,
        s.clientIp,
        `${s.dst}:${s.dport}`,
        s.listed.map((l) => l.pod),
      ]),
    ).toEqual([
      [
        'clusterip-pinned',
        'ClusterIP',
        'n1',
        'pod:client/eth0',
        '10.244.1.3',
        '10.96.0.100:80',
        ['web-0', 'web-1', 'web-2'],
      ],
      [
        'clusterip-300',
        'ClusterIP',
        'n1',
        'pod:client/eth0',
        '10.244.1.3',
        '10.96.0.100:80',
        ['web-0', 'web-1', 'web-2'],
      ],
    ]);
    expect(sps[0]!.chain).toMatch(/^KUBE-SVC-/);
    expect(sps[0]!.listed.every((l) => /^KUBE-SEP-/.test(l.sepChain))).toBe(true);
  });

  test('NodePort with Local policy: KUBE-SVL with web-0 on n1, nothing on n2', () => {
    const sps = serviceProbesOf(scenario('f-nodeport-local'), 1);
    expect(sps.map((s) => [s.name, s.via, s.entryNode, s.listed.map((l) => l.pod)])).toEqual([
      ['local-pinned', 'NodePort', 'n1', ['web-0']],
      ['local-hit', 'NodePort', 'n1', ['web-0']],
      ['local-miss', 'NodePort', 'n2', []],
    ]);
    expect(sps[0]!.chain).toMatch(/^KUBE-SVL-/);
    expect(sps[2]!.chain).toBeUndefined();
  });

  test('pod-to-pod probes are not Service probes', () => {
    expect(serviceProbesOf(scenario('tcp-cross-node'), 1)).toEqual([]);
  });
});

describe('reading the choices from captures', () => {
  test('podnet’s own choices, read back from its captures, are the backends that answered', () => {
    const model = scenario('d-clusterip-tcp');
    const sps = serviceProbesOf(model, 1);
    const w = runWatched(model, 1, sps);
    const side = podnetSide(w.run);
    const c = extractChoices(sps, side.frames, side.localPort, side.attempts, side.counters, [8472]);
    expect(c.problems).toEqual([]);
    expect(c.slots).toHaveLength(301);
    const net = w.run.sim.network;
    for (const s of c.slots) {
      expect(s.how).toBe('capture');
      expect(endpointName(net, s.endpoint)).toBe(w.run.reports[s.probe]!.attempts[s.attempt]!.answeredBy);
    }
    // and the recorder numbered the same SYNs: every connection made a NAT decision (a SYN on a
    // reused client port kills the TIME_WAIT entry and starts afresh, as nf_conntrack does)
    for (const s of c.slots) {
      const k = slotKey(s.probe, s.attempt, s.ordinal);
      expect(w.recorder!.decisions.get(k)?.key).toBe(`${s.syn.ipId}/${s.syn.seq}`);
    }
  });

  test('a connection is claimed once: a later attempt with a pinned probe’s port does not take the pinned one’s SYN', () => {
    const model = scenario('d-clusterip-tcp');
    const sps = serviceProbesOf(model, 1);
    const side = podnetSide(runWatched(model, 1, sps).run);
    const pinned = side.localPort(0, 0)!;
    expect(pinned).toBe(31100);
    // as if attempt 100 of the 300 had got the pinned probe's port (the kernel's port walk can pass it)
    const lying = (probe: number, attempt: number): number | undefined =>
      probe === 1 && attempt === 99 ? pinned : side.localPort(probe, attempt);
    const c = extractChoices(sps, side.frames, lying, side.attempts, side.counters, [8472]);
    expect(c.slots.filter((x) => x.syn.sport === pinned).map((x) => `${x.probe}/${x.attempt}`)).toEqual(['0/0']);
    expect(c.slots.some((x) => x.probe === 1 && x.attempt === 99)).toBe(false);
    expect(c.slots.filter((x) => x.probe === 1)).toHaveLength(299);
  });

  test('hairpin off: a SYN no capture shows after DNAT is attributed with the DNAT counters', () => {
    const model = scenario('h-hairpin-off');
    const sps = serviceProbesOf(model, 1);
    const w = runWatched(model, 7, sps);
    const side = podnetSide(w.run);
    // as the kernel's captures are when br_netfilter's fast path hands a self-landing SYN to a
    // bridge port without hairpin (the neighbour entry was REACHABLE): no copy after DNAT anywhere.
    // podnet's n1 holds a STALE entry at those moments and, like the kernel then, sends them
    // through cni0, so they are removed here to make the kernel's other case
    const self = [
      ...model.pods
        .find((p) => p.name === 'web-0')!
        .ip.toString(16)
        .padStart(8, '0')
        .match(/../g)!,
    ].map((h) => parseInt(h, 16));
    const selfSyn = (b: Uint8Array): boolean =>
      b[12] === 0x08 &&
      b[13] === 0x00 &&
      b[14 + 9] === 6 &&
      self.every((x, i) => b[14 + 12 + i] === x && b[14 + 16 + i] === x) &&
      (b[14 + 20 + 13]! & 0x12) === 0x02;
    const frames = new Map([...side.frames].map(([p, fs]) => [p, fs.filter((f) => !selfSyn(f.bytes))]));
    const removed = [...side.frames.values()].flat().length - [...frames.values()].flat().length;
    expect(removed).toBeGreaterThan(0);
    const full = extractChoices(sps, side.frames, side.localPort, side.attempts, side.counters, [8472]);
    expect(full.slots.filter((s) => s.how === 'counters')).toEqual([]);
    const c = extractChoices(sps, frames, side.localPort, side.attempts, side.counters, [8472]);
    expect(c.problems).toEqual([]);
    const byCounters = c.slots.filter((s) => s.how === 'counters');
    expect(byCounters.length).toBeGreaterThan(0);
    // the SYNs without a copy are exactly those that chose web-0 itself
    const selfChosen = full.slots
      .filter((s) => endpointName(w.run.sim.network, s.endpoint) === 'web-0')
      .map((s) => slotKey(s.probe, s.attempt, s.ordinal));
    expect(byCounters.map((s) => slotKey(s.probe, s.attempt, s.ordinal)).sort()).toEqual(selfChosen.sort());
    for (const s of byCounters) expect(endpointName(w.run.sim.network, s.endpoint)).toBe('web-0');
    // retransmissions are separate choices of the same attempt
    expect(c.slots.some((s) => s.ordinal > 0)).toBe(true);
    // without the counters they cannot be told
    const none = extractChoices(sps, frames, side.localPort, side.attempts, new Map(), [8472]);
    expect(none.problems.length).toBe(byCounters.length);
  });

  test('iptables-save -c and /proc/net/xt_recent are parsed', () => {
    const save = [
      '*nat',
      '[3:180] -A KUBE-SEP-AAA -s 10.244.1.2/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ',
      '[7:420] -A KUBE-SEP-AAA -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 10.244.1.2:8080',
      '[0:0] -A KUBE-SEP-BBB -p tcp -m tcp -j DNAT --to-destination 10.244.2.2:8080',
      'COMMIT',
    ].join('\n');
    expect([...parseDnatCounters(save)]).toEqual([
      ['KUBE-SEP-AAA', 7],
      ['KUBE-SEP-BBB', 0],
    ]);
    const recent = 'src=10.244.1.3 ttl: 64 last_seen: 4295123 oldest_pkt: 3 4295100, 4295110, 4295123\n';
    expect(parseXtRecent(recent)).toEqual([{ src: '10.244.1.3', hits: 3 }]);
    const k = new Map([['n1', new Map([['KUBE-SEP-AAA', parseXtRecent(recent)]])]]);
    const same = new Map([['n1', new Map([['KUBE-SEP-AAA', [{ src: '10.244.1.3', hits: 3 }]]])]]);
    expect(compareRecent(k, same).mismatches).toEqual([]);
    const other = new Map([['n2', new Map([['KUBE-SEP-AAA', [{ src: '10.244.1.3', hits: 3 }]]])]]);
    expect(compareRecent(k, other).mismatches.map((m) => [m.kind, m.point, m.kernel, m.podnet])).toEqual([
      ['state', 'n1 /proc/net/xt_recent/KUBE-SEP-AAA', 'src=10.244.1.3 hits=3', '(empty)'],
      ['state', 'n2 /proc/net/xt_recent/KUBE-SEP-AAA', '(empty)', 'src=10.244.1.3 hits=3'],
    ]);
  });
});

describe('the forced replay', () => {
  test('watching podnet’s choices changes nothing: the same frames as a plain run', () => {
    const model = scenario('h-hairpin');
    const plain = podnetFrames(runPodnet(model, 1));
    const watched = podnetFrames(runWatched(model, 1, serviceProbesOf(model, 1)).run);
    expect([...watched.keys()]).toEqual([...plain.keys()]);
    for (const [p, fs] of plain)
      expect(watched.get(p)!.map((f) => Buffer.from(f.bytes).toString('hex'))).toEqual(
        fs.map((f) => Buffer.from(f.bytes).toString('hex')),
      );
  });

  test('podnet takes every backend the stand-in kernel chose, hairpin self-landings included', () => {
    const r = replayAgainst('h-hairpin', 7);
    expect(r.real.map(line)).toEqual([]);
    const answered = (run: typeof r.check.replay): Array<string | undefined> =>
      run.reports[0]!.attempts.map((a) => a.answeredBy);
    expect(r.check.kernel.slots.map((s) => endpointName(r.check.replay.sim.network, s.endpoint))).toEqual(
      answered(r.check.replay),
    );
    expect(answered(r.check.replay)).toContain('web-0');
    expect([...r.check.recorder.decisions.values()].every((d) => d.forced !== undefined && d.random)).toBe(true);
  });

  test('hairpin off: each SYN’s choice is forced in order, retransmissions included', () => {
    const r = replayAgainst('h-hairpin-off', 7);
    expect(r.real.map(line)).toEqual([]);
    const k = r.check.kernel.slots.map((s) => `${s.probe}/${s.attempt}/${s.ordinal} ${s.endpoint}`);
    const p = r.check.podnet.slots.map((s) => `${s.probe}/${s.attempt}/${s.ordinal} ${s.endpoint}`);
    expect(p).toEqual(k);
    expect(r.check.kernel.slots.some((s) => s.ordinal > 0)).toBe(true);
  });

  test('affinity: one random choice, then every connection pinned; the recent list on n1 only', () => {
    const r = replayAgainst('g-session-affinity', 7);
    expect(r.real.map(line)).toEqual([]);
    const d = [...r.check.recorder.decisions.values()];
    expect(d.filter((x) => x.random)).toHaveLength(1);
    expect(d.filter((x) => !x.random).every((x) => x.listed.length === 1)).toBe(true);
    expect(r.check.recent).toHaveLength(1);
    expect(r.check.recent[0]).toMatch(
      /^n1 \/proc\/net\/xt_recent\/KUBE-SEP-\S+: kernel src=10\.244\.1\.3 hits=20; podnet src=10\.244\.1\.3 hits=20$/,
    );
    expect(r.check.distribution.applicable).toBe(false);
  });

  test('a choice podnet does not list is reported as such', () => {
    const model = scenario('e-nodeport-cluster');
    const sps = serviceProbesOf(model, 1);
    const side = podnetSide(runWatched(model, 7, sps).run);
    const tampered: ServiceSide = {
      ...side,
      frames: asKernel(new Map([...side.frames].map(([p, fs]) => [p, [...fs]]))),
    };
    const check = checkServices(model, 1, runWatched(model, 1, sps), tampered);
    const kernel = {
      ...check.kernel,
      slots: check.kernel.slots.map((s, i) => (i === 3 ? { ...s, endpoint: '10.244.9.9:8080' } : s)),
    };
    const { mismatches } = compareChoices(sps, kernel, check.podnet, check.recorder, check.replay.sim.network);
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]).toMatchObject({
      kind: 'choice',
      point: 'probe nodeport-100',
      field: 'backend of attempt 3 SYN 1',
      kernel: '10.244.9.9:8080',
    });
    expect(mismatches[0]!.note).toMatch(
      /^the kernel chose a backend podnet does not list for this SYN: podnet lists web-0 \(33\.3 %\), web-1 \(33\.3 %\), web-2 \(33\.3 %\) for it on n2 \(KUBE-SVC-/,
    );
  });

  test('the distribution of the kernel’s random choices is tested against podnet’s own', () => {
    const r = replayAgainst('d-clusterip-tcp', 29);
    const d = r.check.distribution;
    expect(d.categories).toEqual(['web-0', 'web-1', 'web-2']);
    expect(d.n).toEqual([301, 301]);
    expect(d.applicable).toBe(true);
    expect(d.df).toBe(2);
    expect(d.p!).toBeGreaterThan(DISTRIBUTION_ALPHA);
    expect(d.ok).toBe(true);
  });
});

describe('chi-square test of homogeneity', () => {
  test('the survival function against known values', () => {
    expect(chiSquareSurvival(5.991464547, 2)).toBeCloseTo(0.05, 8);
    expect(chiSquareSurvival(13.81551056, 2)).toBeCloseTo(0.001, 8);
    expect(chiSquareSurvival(3.841458821, 1)).toBeCloseTo(0.05, 8);
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(gammaQ(1, 2)).toBeCloseTo(Math.exp(-2), 12);
    expect(chiSquareSurvival(100, 5)).toBeLessThan(1e-18);
  });

  test('the 2 × k statistic, its degrees of freedom and applicability', () => {
    // the oracle's two runs of docs/kernel-findings.md §d: 95/105/100 and 97/86/117
    const t = chiSquareHomogeneity(['web-0', 'web-1', 'web-2'], [95, 105, 100], [97, 86, 117]);
    expect(t.applicable).toBe(true);
    expect(t.df).toBe(2);
    expect(t.chi2!).toBeCloseTo(3.2427, 3);
    expect(t.p!).toBeCloseTo(Math.exp(-3.2427 / 2), 4); // df 2: Q = e^(−χ²/2) ≈ 0.198
    const skewed = chiSquareHomogeneity(['a', 'b', 'c'], [100, 100, 100], [200, 50, 50]);
    expect(skewed.p!).toBeLessThan(DISTRIBUTION_ALPHA);
    expect(chiSquareHomogeneity(['a', 'b'], [1, 0], [0, 1])).toMatchObject({
      applicable: false,
      why: expect.stringMatching(/too few/),
    });
    expect(chiSquareHomogeneity(['a', 'b'], [5, 0], [5, 0])).toMatchObject({
      applicable: false,
      why: 'only one category (a)',
    });
    expect(chiSquareHomogeneity(['a'], [0], [3])).toMatchObject({ applicable: false, why: 'a sample is empty' });
  });
});
