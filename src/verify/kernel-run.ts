/**
 * The executor: builds the planned topology in real network namespaces, starts the servers and
 * the captures, replays podnet's probe schedule, stops everything and hands back the capture
 * files and what each probe printed. Cleanup is the caller's Janitor's job (see verify.ts).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { KernelPlan } from './plan.js';
import { assertStepConfined } from './plan.js';
import type { Janitor } from './host.js';
import { KernelCommandError, runSync, sleep } from './host.js';
import { startCaptures, stopCaptures } from './capture.js';
import type { FinishedCapture } from './capture.js';
import type { KernelSchedule, Launch, ProbeGroup } from './schedule.js';
import { pingOutcomes } from './schedule.js';
import type { Nanos } from '../sim/time.js';
import type { Network } from '../kube/network.js';
import type { Mismatch } from './compare.js';
import { checkTopology } from './topology-check.js';
import { SETTLE_NS } from './podnet-run.js';

/**
 * Where the compiled agents live (next to this module in dist; from src, the built dist copy; from the bundled CLI in
 * dist/cli, dist/verify).
 */
export function agentsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'agents'),
    join(here.replace(/([/\\])src([/\\])verify$/, '$1dist$2verify'), 'agents'),
    join(here, '..', 'verify', 'agents'),
  ];
  for (const c of candidates) if (existsSync(join(c, 'server.js'))) return c;
  throw new Error(`the kernel agents are not built (looked in ${candidates.join(', ')}): run \`npm run build\``);
}

/** What one probe process printed. */
export interface KernelProbeOutput {
  readonly launch: Launch;
  readonly group: ProbeGroup;
  /** When it was started, ns after the scenario start. */
  readonly startedAt: Nanos;
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly killed: boolean;
}

/** The kernel side of a run. */
export interface KernelRun {
  /** Wall-clock time of the scenario start (virtual time 0), ns since the epoch. */
  readonly t0Ns: bigint;
  /**
   * End of the comparison window, ns after the scenario start: podnet's end plus the kernel's lag, or the kernel's last
   * probe's end plus podnet's settle time if later.
   */
  readonly windowEnd: Nanos;
  /** How much later than podnet the kernel started its last probe (ns). */
  readonly lag: Nanos;
  readonly captures: readonly FinishedCapture[];
  readonly outputs: readonly KernelProbeOutput[];
  readonly kernelRelease: string;
  /** Where the built topology differs from podnet's network (read back with ip -j). */
  readonly topology: readonly Mismatch[];
  /** Netfilter state of each node after the scenario (by node name): the kernel's own record of its Service choices. */
  readonly nodeState: ReadonlyMap<string, NodeNetfilterState>;
}

/** What a kernel node's netfilter holds after the scenario. */
export interface NodeNetfilterState {
  /** `iptables-save -c -t nat` (rule counters: which KUBE-SEP DNAT rules matched how often). */
  readonly natSave: string;
  /** `/proc/net/xt_recent/<list>` contents by list name (ClientIP affinity). */
  readonly recent: ReadonlyMap<string, string>;
}

/**
 * Reads every node's nat counters and recent lists, each with `ip netns exec <our node ns>`
 * (procfs shows the reading process's namespace) and a time limit. Nodes without rules are skipped.
 */
export function readNodeState(plan: KernelPlan): Map<string, NodeNetfilterState> {
  const out = new Map<string, NodeNetfilterState>();
  const withRules = new Set(plan.steps.filter((s) => s.phase === 'iptables').map((s) => s.argv[3]));
  for (const n of plan.namespaces) {
    if (n.role !== 'node' || !withRules.has(n.name)) continue;
    const exec = (...argv: string[]): string => {
      const step = { argv: ['ip', 'netns', 'exec', n.name, ...argv] };
      assertStepConfined(step, plan);
      const r = runSync(step.argv, { timeoutMs: 10_000 });
      return r.status === 0 ? r.stdout : '';
    };
    const natSave = exec('iptables-save', '-c', '-t', 'nat');
    const recent = new Map<string, string>();
    const names = exec('ls', '-1', '/proc/net/xt_recent')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[A-Za-z0-9_.-]+$/.test(l))
      .slice(0, 1000);
    for (const name of names) recent.set(name, exec('cat', `/proc/net/xt_recent/${name}`));
    out.set(n.label, { natSave, recent });
  }
  return out;
}

/** Options of the executor. */
export interface KernelRunOptions {
  readonly plan: KernelPlan;
  /** podnet's network the plan came from (to check the built topology against). */
  readonly network: Network;
  readonly schedule: KernelSchedule;
  /** Folder for the capture files. */
  readonly dir: string;
  /** Virtual time (ns) at which podnet's comparison window ends. */
  readonly end: Nanos;
  readonly janitor: Janitor;
  readonly log?: (line: string) => void;
}

/**
 * Milliseconds between starting the captures and the scenario start (at least 200 ms after the first agents are ready).
 */
const LEAD_MS = 500;
/** Node agents are started ahead of their turn (node takes ~100 ms to start), this many at a time. */
const AGENTS_AHEAD = 8;
/** Captures keep running this long after podnet's window ends. */
const TAIL_MS = 300;

/** Builds the topology (namespaces through the Janitor, every other step as planned). */
export function buildTopology(plan: KernelPlan, janitor: Janitor, log?: (line: string) => void): void {
  for (const n of plan.namespaces) janitor.addNamespace(n.name);
  log?.(`built ${plan.namespaces.length} namespaces`);
  for (const e of plan.etcFiles) janitor.writeEtcFiles(e.ns, e.files);
  for (const s of plan.steps) {
    if (s.phase === 'netns') continue;
    assertStepConfined(s, plan);
    const r = runSync(s.argv, s.input === undefined ? {} : { input: s.input });
    if (r.status !== 0) throw new KernelCommandError(s.argv, r, `building the kernel topology (${s.why})`);
  }
  log?.(`ran ${plan.steps.length} plan steps`);
}

/** Children whose output was read to the end ('close': exited, and stdout/stderr drained). */
const closedChildren = new WeakSet<ChildProcess>();

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.once('close', () => closedChildren.add(child));
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    if (out.length < 1_000_000) out += d;
  });
  child.stderr?.on('data', (d: string) => {
    if (err.length < 1_000_000) err += d;
  });
  return { out: () => out, err: () => err };
}

/**
 * Resolves when the child has exited and its output was read to the end ('close', not 'exit':
 * the last result lines can still be in the pipe at 'exit'); SIGKILL after `limitMs`.
 */
function exited(child: ChildProcess, limitMs: number): Promise<{ code: number | null; killed: boolean }> {
  return new Promise((resolve) => {
    if (closedChildren.has(child)) {
      resolve({ code: child.exitCode, killed: false });
      return;
    }
    let killed = false;
    const t = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, killed });
    });
  });
}

async function startServers(
  plan: KernelPlan,
  janitor: Janitor,
  agents: string,
  maxSeconds: number,
  dir: string,
): Promise<ChildProcess[]> {
  const started: Array<{ child: ChildProcess; s: { name: string }; io: ReturnType<typeof collect> }> = [];
  for (const s of plan.servers) {
    const argv = [
      'ip',
      'netns',
      'exec',
      s.ns,
      process.execPath,
      join(agents, 'server.js'),
      '--name',
      s.name,
      '--max-seconds',
      String(maxSeconds),
    ];
    for (const p of s.tcp) argv.push('--tcp', String(p));
    for (const p of s.udp) argv.push('--udp', String(p));
    const child = janitor.spawn(argv, `server ${s.name}`);
    started.push({ child, s, io: collect(child) });
  }
  plan.dnsServers.forEach((s, i) => {
    const config = join(dir, `dns-server-${i}.json`);
    writeFileSync(config, JSON.stringify(s.config));
    const argv = [
      'ip',
      'netns',
      'exec',
      s.ns,
      process.execPath,
      join(agents, 'dns-server.js'),
      '--config',
      config,
      '--max-seconds',
      String(maxSeconds),
    ];
    const child = janitor.spawn(argv, `DNS server ${s.name}`);
    started.push({ child, s, io: collect(child) });
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const failed = started.find((x) => x.child.exitCode !== null || /ERROR/.test(x.io.out()));
    if (failed)
      throw new Error(`server for ${failed.s.name} failed to start: ${(failed.io.out() + failed.io.err()).trim()}`);
    if (started.every((x) => /READY/.test(x.io.out()))) break;
    if (Date.now() > deadline)
      throw new Error(
        `servers did not start within 15 s: ${started
          .filter((x) => !/READY/.test(x.io.out()))
          .map((x) => x.s.name)
          .join(', ')}`,
      );
    await sleep(20);
  }
  return started.map((x) => x.child);
}

/** Builds, captures, replays the schedule and stops; the Janitor removes everything afterwards. */
export async function runKernel(opts: KernelRunOptions): Promise<KernelRun> {
  const { plan, schedule, janitor, log } = opts;
  const agents = agentsDir();
  const kernelRelease = runSync(['uname', '-r']).stdout.trim();
  buildTopology(plan, janitor, log);
  const topology = checkTopology(plan, opts.network);
  log?.(
    topology.length === 0
      ? "the built topology holds what podnet's network holds"
      : `the built topology differs from podnet's in ${topology.length} place${topology.length === 1 ? '' : 's'}`,
  );
  const servers = await startServers(
    plan,
    janitor,
    agents,
    Math.ceil((LEAD_MS + opts.end / 1e6 + 120_000) / 1000),
    opts.dir,
  );
  log?.(`started ${servers.length} servers`);
  const running = await startCaptures(janitor, plan.captures, opts.dir);
  log?.(`capturing on ${running.length} interfaces`);
  let finished: FinishedCapture[] | undefined;
  const outputs: KernelProbeOutput[] = [];
  const pending: Array<Promise<void>> = [];
  try {
    let t0Ms = Date.now() + LEAD_MS;
    const nowNs = (): Nanos => (Date.now() - t0Ms) * 1e6;
    let lag = 0;
    // when the last probe was done (its replies in, or its process gone): the kernel may have needed
    // longer than podnet's own run (a backend choice that cost a SYN retransmission)
    let lastDone = 0;

    // node agents are started ahead of time and wait for a go line on stdin
    const agentLaunches: Array<{ g: ProbeGroup; l: Launch }> = [];
    for (const g of schedule.probes) for (const l of g.launches) if (l.kind !== 'ping') agentLaunches.push({ g, l });
    const prepared = new Map<Launch, Promise<{ child: ChildProcess; io: ReturnType<typeof collect> }>>();
    let nextToPrepare = 0;
    const prepare = (g: ProbeGroup, l: Launch): Promise<{ child: ChildProcess; io: ReturnType<typeof collect> }> => {
      const had = prepared.get(l);
      if (had !== undefined) return had;
      const ns = plan.nsName.get(g.fromNs);
      if (ns === undefined) throw new Error(`probe ${g.name}: no kernel namespace for ${g.fromNs}`);
      const argv = ['ip', 'netns', 'exec', ns, process.execPath, join(agents, `${l.kind}.js`), ...l.args];
      const child = janitor.spawn(argv, `${l.kind} ${g.name}#${l.attempt}`, { stdin: 'pipe' });
      const io = collect(child);
      const ready = (async () => {
        const deadline = Date.now() + 15_000;
        while (!/READY/.test(io.out())) {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`${l.kind} for ${g.name} exited before it was ready: ${(io.out() + io.err()).trim()}`);
          if (Date.now() > deadline) throw new Error(`${l.kind} for ${g.name} did not start within 15 s`);
          await sleep(5);
        }
        return { child, io };
      })();
      ready.catch(() => undefined);
      prepared.set(l, ready);
      return ready;
    };
    const prepareAhead = (): void => {
      while (nextToPrepare < agentLaunches.length && prepared.size - finishedAgents < AGENTS_AHEAD) {
        const { g, l } = agentLaunches[nextToPrepare++]!;
        void prepare(g, l);
      }
    };
    let finishedAgents = 0;
    prepareAhead();
    await Promise.all([...prepared.values()]);
    t0Ms = Math.max(t0Ms, Date.now() + 200);

    const runLaunch = async (g: ProbeGroup, l: Launch, groupStartMs: number): Promise<void> => {
      const ns = plan.nsName.get(g.fromNs);
      if (ns === undefined) throw new Error(`probe ${g.name}: no kernel namespace for ${g.fromNs}`);
      const atMs = groupStartMs + l.offset / 1e6;
      let child: ChildProcess;
      let io: ReturnType<typeof collect>;
      if (l.kind === 'ping') {
        await sleep(atMs - Date.now());
        child = janitor.spawn(['ip', 'netns', 'exec', ns, 'ping', ...l.args], `ping ${g.name}`);
        io = collect(child);
      } else {
        ({ child, io } = await prepare(g, l));
        await sleep(atMs - Date.now());
        child.stdin?.end('go\n');
      }
      const startedAt = (Date.now() - t0Ms) * 1e6;
      const exit = exited(child, l.limitMs);
      // podnet finishes a ping when every echo has an outcome; so does the kernel side (ping may linger)
      const done =
        l.kind === 'ping'
          ? Promise.race([
              exit,
              new Promise<void>((resolve) => {
                const check = (): void => {
                  if (pingOutcomes(io.out(), io.err()) >= l.count) resolve();
                };
                child.stdout?.on('data', check);
                child.stderr?.on('data', check);
              }),
            ])
          : exit;
      pending.push(
        exit.then(({ code, killed }) => {
          outputs.push({ launch: l, group: g, startedAt, stdout: io.out(), stderr: io.err(), exitCode: code, killed });
          if (l.kind !== 'ping') {
            finishedAgents++;
            prepareAhead();
          }
        }),
      );
      await done;
      lastDone = Math.max(lastDone, nowNs());
    };

    const runGroup = async (g: ProbeGroup, earliestMs: number): Promise<void> => {
      const startMs = Math.max(earliestMs, t0Ms + g.podnetStart / 1e6);
      lag = Math.max(lag, (startMs - t0Ms) * 1e6 - g.podnetStart);
      await Promise.all(g.launches.map((l) => runLaunch(g, l, startMs)));
    };

    if (schedule.parallel) {
      await Promise.all(schedule.probes.map((g) => runGroup(g, t0Ms)));
    } else {
      for (const g of schedule.probes) {
        await runGroup(g, Date.now() + g.gap / 1e6);
      }
    }
    await Promise.all(pending);
    const windowEnd = Math.max(opts.end + Math.round(lag), lastDone + SETTLE_NS);
    await sleep((windowEnd - nowNs()) / 1e6 + TAIL_MS);
    finished = await stopCaptures(running);
    log?.('stopped captures');
    const nodeState = readNodeState(plan);
    if (nodeState.size > 0)
      log?.(`read the nat counters and recent lists of ${nodeState.size} node${nodeState.size === 1 ? '' : 's'}`);
    outputs.sort(
      (a, b) => a.startedAt - b.startedAt || a.launch.probe - b.launch.probe || a.launch.attempt - b.launch.attempt,
    );
    return {
      t0Ns: BigInt(t0Ms) * 1_000_000n,
      windowEnd,
      lag: Math.round(lag),
      captures: finished,
      outputs,
      kernelRelease,
      topology,
      nodeState,
    };
  } finally {
    if (finished === undefined) await stopCaptures(running, 2_000);
    for (const s of servers) s.kill('SIGTERM');
  }
}
