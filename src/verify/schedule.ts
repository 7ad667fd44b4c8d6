/**
 * The kernel replays podnet's schedule. A Scenario's probes run as podnet runs them: with
 * `parallel: true` each starts at its podnet start time; otherwise one after another, each
 * starting `start` after the previous one finished — and never earlier than podnet started it,
 * so both timelines stay aligned (timers such as the 5 s delayed ARP probes depend on it).
 * Within a probe, attempts keep podnet's offsets. ICMP probes are one iputils `ping`; a TCP or
 * UDP probe is one agent process that opens one socket per attempt at podnet's offsets (one
 * process for 300 connections: starting a node process per attempt would put the kernel
 * seconds behind podnet's schedule).
 */
import type { ProbeModel } from '../kube/model.js';
import type { ProbeReport } from '../apps/probe.js';
import type { Simulation } from '../api/simulation.js';
import { udpPayload } from '../apps/probe.js';
import type { Nanos } from '../sim/time.js';

/** One process to start in the kernel topology. */
export interface Launch {
  /** Probe index in the Scenario and attempt index within it (0: a ping or an agent runs them all). */
  readonly probe: number;
  readonly attempt: number;
  /** How many attempts this process makes (ping: the echo count; agents: one socket each). */
  readonly attempts: number;
  readonly name: string;
  readonly protocol: 'icmp' | 'tcp' | 'udp';
  /** Offset from the probe's start (ns), as in podnet. */
  readonly offset: Nanos;
  /** What to run: `ping` arguments, or agent arguments (the executor adds node, the agent path, --at). */
  readonly kind: 'ping' | 'tcp-client' | 'udp-client';
  readonly args: readonly string[];
  /** How many outcomes finish it (ping: replies, errors, local errors; agents: one line per attempt). */
  readonly count: number;
  /** The longest the process may run (ms) before it is killed. */
  readonly limitMs: number;
}

/** One probe of the Scenario. */
export interface ProbeGroup {
  readonly probe: number;
  readonly name: string;
  readonly protocol: 'icmp' | 'tcp' | 'udp';
  /** podnet namespace id of the client (mapped to a kernel namespace by the plan). */
  readonly fromNs: string;
  /** When podnet started it (ns since the scenario start). */
  readonly podnetStart: Nanos;
  /** The Scenario's `start`: delay after the previous probe finished (sequential) or after 0 (parallel). */
  readonly gap: Nanos;
  readonly launches: readonly Launch[];
}

/** The kernel's schedule. */
export interface KernelSchedule {
  readonly parallel: boolean;
  readonly probes: readonly ProbeGroup[];
}

function seconds(ns: Nanos): string {
  return String(Math.round(ns / 1e6) / 1e3);
}

/** Builds the schedule for a scenario podnet ran (`reports` in Scenario order). */
export function scheduleFromPodnet(
  sim: Simulation,
  probes: readonly ProbeModel[],
  reports: readonly ProbeReport[],
  parallel: boolean,
): KernelSchedule {
  const groups: ProbeGroup[] = [];
  probes.forEach((p, i) => {
    const r = reports[i];
    const first = r?.attempts[0];
    if (r === undefined || first === undefined) return;
    const from = sim.resolveFrom(p.from);
    const dst = r.dst;
    const timeoutMs = Math.round(p.timeout / 1e6);
    const launches: Launch[] = [];
    if (p.protocol === 'icmp') {
      // ping resolves a host name itself (getaddrinfo AF_UNSPEC), once, as podnet's ping does
      const target = sim.resolveTo(p.to).name ?? dst;
      const args = [
        '-n',
        '-c',
        String(p.count),
        '-s',
        String(p.size),
        '-i',
        seconds(p.interval),
        '-W',
        seconds(p.timeout),
        '-M',
        p.pmtudisc,
        target,
      ];
      launches.push({
        probe: i,
        attempt: 0,
        attempts: p.count,
        name: p.name,
        protocol: 'icmp',
        offset: 0,
        kind: 'ping',
        args,
        count: p.count,
        limitMs: Math.round((p.count * p.interval + p.timeout) / 1e6) + 3000,
      });
    } else if (r.port !== undefined) {
      const port = r.port;
      const offsets = r.attempts.map((a) => a.t - first.t);
      // a host name is resolved on the kernel side too, by glibc, before each attempt (as podnet's resolver does)
      const name = sim.resolveTo(p.to).name;
      const args = [
        ...(name === undefined ? ['--dst', dst] : ['--name', name]),
        '--port',
        String(port),
        '--timeout-ms',
        String(timeoutMs),
      ];
      if (p.sourcePort !== undefined) args.push('--sport', String(p.sourcePort));
      if (p.protocol === 'udp') args.push('--payload-hex', Buffer.from(udpPayload(p.size)).toString('hex'));
      if (offsets.length > 1)
        args.push('--offsets-ms', offsets.map((o) => String(Math.round(o / 1e3) / 1e3)).join(','));
      const last = offsets[offsets.length - 1] ?? 0;
      launches.push({
        probe: i,
        attempt: 0,
        attempts: offsets.length,
        name: p.name,
        protocol: p.protocol,
        offset: 0,
        kind: p.protocol === 'tcp' ? 'tcp-client' : 'udp-client',
        args,
        count: offsets.length,
        // glibc may take timeout × attempts per nameserver and candidate name when DNS answers go missing
        limitMs: Math.round(last / 1e6) + timeoutMs + 5000 + (name === undefined ? 0 : 60_000),
      });
    }
    groups.push({
      probe: i,
      name: p.name,
      protocol: p.protocol,
      fromNs: from.ns.name,
      podnetStart: first.t,
      gap: p.start,
      launches,
    });
  });
  return { parallel, probes: groups };
}

/** Outcomes a ping has printed so far (replies, ICMP errors, local errors): it is done at `count`. */
export function pingOutcomes(stdout: string, stderr: string): number {
  const replies = (stdout.match(/^\d+ bytes from .*icmp_seq=\d+/gm) ?? []).length;
  const errors = (stdout.match(/^From \S+ icmp_seq=\d+/gm) ?? []).length;
  const local = ((stdout + stderr).match(/^ping: local error/gm) ?? []).length;
  return replies + errors + local;
}
