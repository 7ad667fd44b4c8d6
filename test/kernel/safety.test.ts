/**
 * Safety and cleanup of the kernel suite, as users run it (the CLI): nothing is left after a
 * normal run or after SIGTERM/SIGINT mid-run (namespaces deleted, every process that ran inside
 * them gone), stale namespaces of a killed run are refused unless --preclean, a machine that
 * cannot create namespaces gets one line and exit 77, and the built topology is checked against
 * podnet's network (a deliberate change is caught).
 */
import { afterAll, describe, expect, test } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDefaultTopology } from '../../src/kube/load/index.js';
import { Simulation } from '../../src/api/simulation.js';
import { namePrefix, planKernelTopology } from '../../src/verify/plan.js';
import { ETC_NETNS, Janitor, namespacePids, precleanStaleEtc, runSync } from '../../src/verify/host.js';
import { buildTopology } from '../../src/verify/kernel-run.js';
import { checkTopology } from '../../src/verify/topology-check.js';
import { CLI, kernelSkip, namespacesWith, stillRunning } from './env.js';

const SAME_NODE = 'test/kernel/scenarios/a-same-node-ping.yaml';
const LONG = 'test/kernel/scenarios/j-arp-cross-node.yaml';

const started: ChildProcess[] = [];

/** The scratch folders runs make (removed on every exit path). */
function scratchDirs(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith('podnet-verify-') && !f.startsWith('podnet-verify-keep-'));
}
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Watched {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Every PID seen inside the run's namespaces while it ran. */
  seen: Set<number>;
  /** The run's namespace prefix. */
  prefix: string;
}

/**
 * Runs the CLI, watching its namespaces (every 50 ms: which exist, which PIDs run in them);
 * `signal` is sent once `when` holds for what was seen.
 */
function runWatched(
  args: string[],
  opts: { signal?: NodeJS.Signals; when?: (w: Watched, namespaces: string[]) => boolean; timeoutMs?: number } = {},
): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    const w: Watched = {
      code: null,
      signal: null,
      stdout: '',
      stderr: '',
      seen: new Set(),
      prefix: namePrefix(child.pid!),
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (w.stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (w.stderr += d));
    let signalled = false;
    const poll = setInterval(() => {
      const nss = namespacesWith(w.prefix);
      for (const ns of nss) for (const p of namespacePids(ns)) w.seen.add(p);
      if (opts.signal !== undefined && !signalled && opts.when?.(w, nss)) {
        signalled = true;
        child.kill(opts.signal);
      }
    }, 50);
    const limit = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`podnet ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 90_000} ms`));
    }, opts.timeoutMs ?? 90_000);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(limit);
      w.code = code;
      w.signal = signal;
      resolve(w);
    });
  });
}

describe.skipIf(kernelSkip !== undefined)('kernel suite safety', () => {
  test('a normal run: exit 0, the report, nothing left (namespaces, processes, scratch folder)', async () => {
    const before = new Set(scratchDirs());
    const w = await runWatched(['verify', SAME_NODE, '--kernel']);
    expect(scratchDirs().filter((d) => !before.has(d))).toEqual([]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain('result: MATCH');
    expect(w.stdout).toMatch(
      /cleanup: \d+ processes stopped, \d+ stray processes killed, 10 namespaces deleted, none left/,
    );
    expect(w.seen.size).toBeGreaterThan(19); // tcpdump on 19 points, servers, ping
    expect(namespacesWith(w.prefix)).toEqual([]);
    expect(stillRunning(w.seen)).toEqual([]);
  });

  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s mid-run (captures and servers running): exit 128+n, every namespace, process and scratch folder gone',
    async (sig) => {
      const before = new Set(scratchDirs());
      const w = await runWatched(['verify', LONG, '--kernel'], {
        signal: sig,
        // once tcpdump runs everywhere and a probe has started: well inside the 7 s scenario
        when: (x, nss) => nss.length === 10 && x.seen.size >= 23,
      });
      expect(w.code, w.stderr).toBe(sig === 'SIGTERM' ? 143 : 130);
      expect(w.stderr).toContain(`${sig}: cleaning up`);
      expect(w.seen.size).toBeGreaterThanOrEqual(23);
      expect(namespacesWith(w.prefix)).toEqual([]);
      expect(stillRunning(w.seen)).toEqual([]);
      expect(scratchDirs().filter((d) => !before.has(d))).toEqual([]);
    },
  );

  test('namespaces of a killed run: refused (exit 2, suggests --preclean); --preclean removes them and what ran inside', async () => {
    // a dead run's PID: a process that has exited
    const gone = spawnSync('true');
    const deadPid = gone.pid!;
    const stale = `${namePrefix(deadPid)}stale`;
    expect(runSync(['ip', 'netns', 'add', stale]).status).toBe(0);
    const sleeper = spawn('ip', ['netns', 'exec', stale, 'sleep', '300'], { stdio: 'ignore' });
    started.push(sleeper);
    try {
      for (let i = 0; i < 100 && namespacePids(stale).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const refused = spawnSync(process.execPath, [CLI, 'verify', SAME_NODE, '--kernel'], { encoding: 'utf8' });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain(stale);
      expect(refused.stderr).toContain('--preclean');
      const w = await runWatched(['verify', SAME_NODE, '--kernel', '--preclean']);
      expect(w.code, w.stderr).toBe(0);
      expect(w.stderr).toContain(`preclean: removed ${stale}`);
      expect(namespacesWith(stale)).toEqual([]);
      expect(stillRunning([sleeper.pid!])).toEqual([]);
    } finally {
      if (sleeper.exitCode === null) sleeper.kill('SIGKILL');
      runSync(['ip', 'netns', 'delete', stale]);
    }
  });

  test('/etc/netns files: only for this run’s namespaces and only resolv.conf, hosts, nsswitch.conf; gone after cleanup, and a dead run’s are precleaned', () => {
    const hadEtcNetns = existsSync(ETC_NETNS);
    const j = new Janitor(namePrefix(process.pid));
    const mine = `${namePrefix(process.pid)}pod-client`;
    expect(() => j.writeEtcFiles('other-ns', { 'resolv.conf': 'x' })).toThrow(/not one of this run/);
    expect(() => j.writeEtcFiles(`${namePrefix(process.pid)}../../x`, { 'resolv.conf': 'x' })).toThrow(
      /not one of this run/,
    );
    expect(() => j.writeEtcFiles(mine, { passwd: 'x' })).toThrow(/only resolv.conf, hosts, nsswitch.conf/);
    j.writeEtcFiles(mine, { 'resolv.conf': 'nameserver 10.96.0.10\n' });
    expect(readFileSync(join(ETC_NETNS, mine, 'resolv.conf'), 'utf8')).toBe('nameserver 10.96.0.10\n');
    j.cleanup();
    expect(existsSync(join(ETC_NETNS, mine))).toBe(false);
    expect(existsSync(ETC_NETNS)).toBe(hadEtcNetns);
    // a run killed with SIGKILL leaves its folder; --preclean's sweep removes it, never a live run's
    const deadPid = spawnSync('true').pid!;
    const stale = join(ETC_NETNS, `${namePrefix(deadPid)}pod-x`);
    const live = join(ETC_NETNS, `${namePrefix(process.pid)}pod-y`);
    mkdirSync(stale, { recursive: true });
    mkdirSync(live, { recursive: true });
    writeFileSync(join(stale, 'resolv.conf'), 'x');
    try {
      expect(precleanStaleEtc(namePrefix(process.pid + 1))).toEqual([stale]);
      expect(existsSync(live)).toBe(true);
    } finally {
      rmSync(stale, { recursive: true, force: true });
      rmSync(live, { recursive: true, force: true });
      if (!hadEtcNetns) rmSync(ETC_NETNS, { recursive: true, force: true });
    }
  });

  test('not root: one line saying why, exit 77, nothing created', () => {
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'verify', SAME_NODE, '--kernel'],
      { encoding: 'utf8' },
    );
    if (r.error !== undefined) return; // no setpriv: nothing to show
    expect(r.status).toBe(77);
    expect(r.stderr.trim().split('\n')).toEqual([
      'podnet verify: cannot build network namespaces here: not root: creating network namespaces needs root (run with sudo)',
    ]);
    expect(r.stdout).toBe('');
  });

  test('--json: a podnet.verify/v1 document; --keep writes both sides’ captures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-verify-keep-'));
    try {
      const w = await runWatched(['verify', SAME_NODE, '--kernel', '--json', '--out', join(dir, 'out')]);
      expect(w.code, w.stderr).toBe(0);
      const j = JSON.parse(w.stdout) as { schema: string; match: boolean; points: unknown[]; files: string };
      expect(j.schema).toBe('podnet.verify/v1');
      expect(j.match).toBe(true);
      expect(j.points).toHaveLength(19);
      const ls = spawnSync('ls', ['-R', j.files], { encoding: 'utf8' }).stdout;
      for (const f of [
        'podnet.pcapng',
        'kernel-topology.sh',
        'report.txt',
        'report.json',
        'pod_client_eth0.pcap',
        'node1_cni0.pcap',
      ])
        expect(ls).toContain(f);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the built topology is read back and checked against podnet’s network; a change is caught', () => {
    const sim = new Simulation(loadDefaultTopology().model!, { seed: 1 });
    const plan = planKernelTopology(sim.network, { prefix: namePrefix(process.pid) });
    const janitor = new Janitor(plan.prefix);
    janitor.installSignalHandlers();
    try {
      buildTopology(plan, janitor);
      expect(checkTopology(plan, sim.network)).toEqual([]);
      const node1 = plan.nsName.get('node/node1')!;
      expect(runSync(['ip', '-n', node1, 'link', 'set', 'dev', 'cni0', 'mtu', '1400']).status).toBe(0);
      expect(runSync(['ip', '-n', node1, 'route', 'del', '10.244.1.0/24']).status).toBe(0);
      const diffs = checkTopology(plan, sim.network).map(
        (m) => `${m.point} ${m.field}: kernel ${m.kernel}, podnet ${m.podnet}`,
      );
      expect(diffs).toEqual([
        'topology node1 link cni0 mtu: kernel 1400, podnet 1450',
        'topology node1 route: kernel (absent), podnet unicast 10.244.1.0/24 via 10.244.1.0 dev flannel.1 proto static src - onlink',
      ]);
    } finally {
      const c = janitor.cleanup();
      janitor.removeSignalHandlers();
      expect(c.leftover).toEqual([]);
    }
  });
});
