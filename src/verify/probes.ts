/**
 * What each probe got back, on both sides, as comparable outcomes: per ICMP sequence number
 * (reply from whom with which TTL, an ICMP error as ping prints it, a local error, no reply) and
 * per TCP/UDP attempt (which server answered and which source address it saw, or the error).
 * Ephemeral client ports are shown as `*` unless the probe pinned its source port.
 */
import type { ProbeReport } from '../apps/probe.js';
import type { Mismatch } from './compare.js';
import type { KernelProbeOutput } from './kernel-run.js';
import type { ProbeGroup } from './schedule.js';
import { gaiErrorCode } from '../apps/resolver.js';

/** One probe's outcomes on both sides. */
export interface ProbeComparison {
  readonly name: string;
  readonly protocol: string;
  readonly from: string;
  readonly to: string;
  /** Outcome per sequence number / attempt, in order. */
  readonly kernel: readonly string[];
  readonly podnet: readonly string[];
  readonly mismatches: Mismatch[];
}

/** Parses iputils ping output into one outcome per sequence number (1..count). */
export function parsePingOutcomes(stdout: string, stderr: string, count: number): string[] {
  const out: Array<string | undefined> = new Array(count).fill(undefined);
  const text = `${stdout}\n${stderr}`;
  // a destination name that did not resolve: ping says why and sends nothing
  const gai = /^ping: (?!local error)(\S+): (.+)$/m.exec(text);
  if (gai !== null && !/^PING /m.test(text)) return out.map(() => `error: ping: ${gai[1]}: ${gai[2]!.trim()}`);
  for (const line of text.split('\n')) {
    const rep = /^\d+ bytes from ([\d.]+): icmp_seq=(\d+) ttl=(\d+)/.exec(line);
    if (rep) {
      const i = Number(rep[2]) - 1;
      if (i >= 0 && i < count) out[i] = `reply from ${rep[1]} ttl=${rep[3]}`;
      continue;
    }
    const err = /^From ([\d.]+) icmp_seq=(\d+) (.*)$/.exec(line);
    if (err) {
      const i = Number(err[2]) - 1;
      if (i >= 0 && i < count) out[i] = `error: From ${err[1]}: ${err[3]!.trim()}`;
    }
  }
  // local errors carry no sequence number: they belong to the sends that got nothing else, in order
  const locals = text
    .split('\n')
    .filter((l) => l.startsWith('ping: local error: '))
    .map((l) => l.slice('ping: '.length).trim());
  for (let i = 0; i < count && locals.length > 0; i++) if (out[i] === undefined) out[i] = `error: ${locals.shift()!}`;
  return out.map((o) => o ?? 'no reply');
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The port a server saw, as compared: only a pinned client port is shown, and not even that on
 * an address source NAT writes (`nat`: a node's IP, cni0 and flannel.1 addresses), whose port
 * MASQUERADE --random-fully picks.
 */
function shownPort(ip: string, port: string, pinned: boolean, nat: ReadonlySet<string>): string {
  return pinned && !nat.has(ip) ? port : '*';
}

function bannerOutcome(data: string, pinned: boolean, nat: ReadonlySet<string>): string | undefined {
  const m = /^(\S+) (\d+\.\d+\.\d+\.\d+) (\d+)\n?$/.exec(data);
  if (!m) return undefined;
  return `answered by ${m[1]}, which saw ${m[2]}:${shownPort(m[2]!, m[3]!, pinned, nat)}`;
}

/** One attempt's JSON line of an agent (`{ attempt, ok, localPort, data, error }`). */
export interface AgentLine {
  readonly attempt?: number;
  readonly ok?: boolean;
  readonly localPort?: number | null;
  readonly data?: string;
  readonly error?: string | null;
  /** The socket's errno when an error ended the attempt (the UDP client). */
  readonly errno?: string | null;
  /** A destination given by name: what getaddrinfo returned, in its order. */
  readonly addresses?: readonly string[];
  /** A destination given by name that did not resolve: getaddrinfo's error (`EAI_NONAME`). */
  readonly gaiError?: string;
}

/** How a name's resolution reads in an outcome: the addresses getaddrinfo returned, before what the attempt got. */
function resolvedPrefix(addresses: readonly string[] | undefined): string {
  return addresses === undefined ? '' : `resolved ${addresses.join(',') || '(none)'}; `;
}

/** A socket error of a UDP attempt as both sides' outcomes read it: by errno, not by either side's wording. */
function udpSocketError(errno: string): string {
  return errno === 'ECONNREFUSED' ? 'Connection refused' : `socket error ${errno}`;
}

/** The JSON lines of an agent's output, by attempt (lines without `attempt` are attempt 0). */
export function agentLines(out: KernelProbeOutput | undefined): Map<number, AgentLine> {
  const m = new Map<number, AgentLine>();
  if (out === undefined) return m;
  for (const line of out.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as AgentLine;
      m.set(typeof j.attempt === 'number' ? j.attempt : 0, j);
    } catch {
      /* not a result line */
    }
  }
  return m;
}

/** Outcome of one attempt of a TCP/UDP agent run. */
export function agentOutcome(
  out: KernelProbeOutput | undefined,
  pinned: boolean,
  attempt = 0,
  nat: ReadonlySet<string> = NONE,
): string {
  if (out === undefined) return 'not run';
  const j = agentLines(out).get(attempt);
  if (j === undefined) {
    if (out.killed) return 'agent killed (time limit)';
    return `agent failed: ${(out.stderr.trim() || out.stdout.trim() || `exit ${out.exitCode}`).split('\n')[0]}`;
  }
  if (typeof j.gaiError === 'string') return `error: getaddrinfo ${j.gaiError}`;
  const pre = resolvedPrefix(j.addresses);
  if (j.ok === true && typeof j.data === 'string')
    return pre + (bannerOutcome(j.data, pinned, nat) ?? `reply ${JSON.stringify(j.data)}`);
  if (typeof j.errno === 'string') return `${pre}error: ${udpSocketError(j.errno)}`;
  return `${pre}error: ${j.error ?? 'no reply'}`;
}

/** The client port of every attempt of every TCP/UDP probe, as the kernel agents reported it. */
export function kernelLocalPorts(
  outputs: readonly KernelProbeOutput[],
): (probe: number, attempt: number) => number | undefined {
  const by = new Map<number, Map<number, AgentLine>>();
  for (const o of outputs) if (o.launch.kind !== 'ping') by.set(o.launch.probe, agentLines(o));
  return (probe, attempt) => {
    const p = by.get(probe)?.get(attempt)?.localPort;
    return typeof p === 'number' ? p : undefined;
  };
}

/** podnet's outcome per attempt. */
export function podnetOutcomes(r: ProbeReport, pinned: boolean, nat: ReadonlySet<string> = NONE): string[] {
  return r.attempts.map((a) => {
    if (r.protocol === 'icmp') {
      if (a.ok) return `reply from ${a.replyFrom ?? '?'} ttl=${a.ttl ?? '?'}`;
      if (a.error !== undefined && a.error !== 'no reply') return `error: ${a.error}`;
      return 'no reply';
    }
    const res = a.resolved;
    if (res !== undefined && res.addresses.length === 0)
      return `error: getaddrinfo ${gaiErrorCode(res.error ?? '') ?? res.error ?? 'no address'}`;
    const pre = resolvedPrefix(res?.addresses);
    if (a.ok && a.answeredBy !== undefined && a.serverSaw !== undefined) {
      const [ip, port] = a.serverSaw.split(':') as [string, string];
      return `${pre}answered by ${a.answeredBy}, which saw ${ip}:${shownPort(ip, port, pinned, nat)}`;
    }
    // an error an ICMP message set on a connected UDP socket
    if (r.protocol === 'udp' && a.sent && a.errno !== undefined) return `${pre}error: ${udpSocketError(a.errno)}`;
    return `${pre}error: ${a.error ?? 'no reply'}`;
  });
}

/**
 * Compares the outcomes of every probe. `nat`: addresses source NAT writes (their ports are
 * random, so shown as `*` even when the probe pinned its own port).
 */
export function compareProbes(
  groups: readonly ProbeGroup[],
  reports: readonly ProbeReport[],
  outputs: readonly KernelProbeOutput[],
  pinnedOf: (probe: number) => boolean,
  nat: ReadonlySet<string> = NONE,
): ProbeComparison[] {
  return groups.map((g) => {
    const r = reports[g.probe]!;
    const pinned = pinnedOf(g.probe);
    const mine = outputs.filter((o) => o.launch.probe === g.probe);
    let kernel: string[];
    if (g.protocol === 'icmp') {
      const o = mine[0];
      kernel =
        o === undefined ? r.attempts.map(() => 'not run') : parsePingOutcomes(o.stdout, o.stderr, g.launches[0]!.count);
    } else {
      const o = mine[0];
      kernel = r.attempts.map((_, j) => agentOutcome(o, pinned, j, nat));
    }
    const podnet = podnetOutcomes(r, pinned, nat);
    const point = `probe ${g.name}`;
    const mismatches: Mismatch[] = [];
    const n = Math.max(kernel.length, podnet.length);
    for (let i = 0; i < n; i++) {
      const k = kernel[i] ?? '(none)';
      const p = podnet[i] ?? '(none)';
      if (k !== p)
        mismatches.push({
          kind: 'probe',
          point,
          field: g.protocol === 'icmp' ? `icmp_seq=${i + 1}` : `attempt ${i + 1}`,
          kernel: k,
          podnet: p,
        });
    }
    return { name: g.name, protocol: g.protocol, from: r.from, to: r.to, kernel, podnet, mismatches };
  });
}

/**
 * A long list of outcomes, grouped: `answered by web-1, which saw 10.244.2.1:* ×31; …` (in order of first appearance).
 */
export function summarizeOutcomes(list: readonly string[], max = 4): string {
  if (list.length <= max) return list.join('; ');
  const counts = new Map<string, number>();
  for (const o of list) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts].map(([o, n]) => (n > 1 ? `${o} ×${n}` : o)).join('; ');
}
