/**
 * The mismatch report: for people (text) and scripts (JSON, schema `podnet.verify/v1`). Each
 * mismatch names the scenario, the capture point, the frame index on each side (1-based, as
 * Wireshark numbers the frames of that point's capture), the field, both values, and podnet's
 * trace of that packet: its pcapng comment and the hop events carrying its packet id.
 */
import type { HopJson } from '../trace/format.js';
import { formatTable } from '../trace/format.js';
import type { Mismatch } from './compare.js';
import { ATTEMPTS_WINDOW, CONCURRENCY_WINDOW, CROSSING_WINDOW, PARALLEL_WINDOW } from './compare.js';
import type { VerifyResult } from './verify.js';
import { summarizeOutcomes } from './probes.js';
import type { ServiceCheck } from './service-check.js';

function counts(names: ReadonlyArray<string | undefined>): string {
  const m = new Map<string, number>();
  for (const n of names) if (n !== undefined) m.set(n, (m.get(n) ?? 0) + 1);
  return (
    [...m]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-'
  );
}

/** The distribution test as one line. */
export function distributionLine(s: ServiceCheck): string {
  const d = s.distribution;
  const side = (xs: readonly number[]): string => d.categories.map((c, i) => `${c} ${xs[i]}`).join(', ') || '-';
  const head = `kernel ${side(d.a)} (n=${d.n[0]}) vs podnet unforced ${side(d.b)} (n=${d.n[1]})`;
  if (!d.applicable) return `${head}: not applied (${d.why})`;
  return `${head}: χ² = ${d.chi2!.toFixed(3)}, df ${d.df}, p = ${d.p!.toPrecision(3)} ${d.ok ? '≥' : '<'} α = ${d.alpha} → ${d.ok ? 'no significant difference' : 'SIGNIFICANTLY DIFFERENT'}`;
}

/** The Service section of the text report. */
export function formatServices(s: ServiceCheck): string[] {
  const out: string[] = [];
  out.push(
    "backend choices (Service probes: the kernel's backend for each SYN, read from its captures and DNAT counters, forced in podnet's replay)",
  );
  const rows = s.probes.map((sp) => {
    const k = s.kernel.slots.filter((c) => c.probe === sp.probe);
    const p = s.podnet.slots.filter((c) => c.probe === sp.probe);
    const name = (addr: string | undefined): string | undefined =>
      addr === undefined ? undefined : (sp.listed.find((l) => l.addr === addr)?.pod ?? addr);
    return [
      `  ${sp.name}`,
      `${sp.via} ${sp.dst}:${sp.dport}`,
      sp.entryNode,
      sp.chain ?? '(none: no endpoint here)',
      sp.listed.map((l) => l.pod).join(', ') || '-',
      counts(k.map((c) => name(c.endpoint) ?? (c.how === 'none' ? '?' : undefined))),
      counts(p.map((c) => name(c.endpoint) ?? (c.how === 'none' ? '?' : undefined))),
    ];
  });
  out.push(
    formatTable(['  probe', 'to', 'entry', 'chain', 'podnet lists', 'kernel chose', 'podnet replay chose'], rows),
  );
  const decisions = [...s.recorder.decisions.values()];
  const forced = decisions.filter((d) => d.forced !== undefined).length;
  const how = (w: string): number => s.kernel.slots.filter((c) => c.how === w).length;
  out.push(
    `  ${s.kernel.slots.length} kernel SYN${s.kernel.slots.length === 1 ? '' : 's'} with a choice ` +
      `(${how('capture')} seen after DNAT, ${how('counters')} attributed by the DNAT counters, ${how('none')} unknown); ` +
      `${forced} forced in the replay (${decisions.filter((d) => !d.random).length} of podnet's decisions had only one ` +
      'backend to go to: affinity or a single endpoint)',
  );
  if (s.podnetPortReused.size > 0)
    out.push(
      `  podnet reused an ephemeral port towards the same Service address in ${s.podnetPortReused.size} attempt${s.podnetPortReused.size === 1 ? '' : 's'} (${[
        ...s.podnetPortReused,
      ]
        .map((k) => {
          const [pr, a] = k.split('/').map(Number) as [number, number];
          return `${s.probes.find((x) => x.probe === pr)?.name ?? pr} #${a + 1}`;
        })
        .join(', ')})`,
    );
  for (const p of s.kernel.problems) out.push(`  kernel: ${p}`);
  for (const p of s.podnet.problems) out.push(`  podnet: ${p}`);
  out.push(
    `distribution of random choices (chi-square test of homogeneity, α = ${s.distribution.alpha}): ${distributionLine(s)}`,
  );
  out.push(
    `affinity lists (/proc/net/xt_recent vs Netfilter.recentList, every node): ${s.recent.length === 0 ? 'all empty on both sides' : ''}`,
  );
  for (const l of s.recent) out.push(`  ${l}`);
  return out;
}

/** How many mismatches the text report shows with their podnet trace. */
const TRACED_IN_TEXT = 25;
/** How many excused mismatches the text report lists. */
const EXCUSED_IN_TEXT = 40;
/** How many hop events of a packet the text report shows. */
const EVENTS_PER_PACKET = 30;

function ms(ns: number): string {
  return (ns / 1e6).toFixed(3);
}

function idx(i: number | undefined): string {
  return i === undefined ? '-' : `#${i + 1}`;
}

/** Hop events of one podnet packet. */
export function packetTrace(events: readonly HopJson[], packetId: number | undefined): HopJson[] {
  if (packetId === undefined) return [];
  return events.filter((e) => e.packet === packetId);
}

function hopLine(e: HopJson): string {
  return `${ms(e.t_ns).padStart(10)}  ${e.where.padEnd(14)} ${(e.dev ?? '').padEnd(13)} ${e.kind.padEnd(7)} ${e.text}`;
}

/** One mismatch as text lines. */
export function formatMismatch(
  m: Mismatch,
  n: number,
  scenario: string,
  events: readonly HopJson[] | undefined,
): string[] {
  const where =
    m.kind === 'probe' || m.kind === 'topology'
      ? m.point
      : `${m.point} kernel ${idx(m.kernelIndex)} / podnet ${idx(m.podnetIndex)}`;
  const what = m.field === undefined ? m.kind : `${m.kind} ${m.field}`;
  const lines = [`[${n}] ${scenario} · ${where} · ${what}`, `      kernel: ${m.kernel}`, `      podnet: ${m.podnet}`];
  if (m.summary !== undefined && m.kind !== 'missing' && m.kind !== 'extra') lines.push(`      frame:  ${m.summary}`);
  if (m.note !== undefined) lines.push(`      note:   ${m.note}`);
  if (m.forced !== undefined) lines.push(`      forced: ${m.forced}`);
  const f = m.podnetFrame;
  if (events !== undefined && f !== undefined) {
    const id = f.input.packetId;
    if (f.input.comment) lines.push(`      podnet pcapng comment: ${f.input.comment}`);
    const trace = packetTrace(events, id);
    if (trace.length > 0) {
      // the packet's history up to this capture point (where a person looks for the cause)
      const at = trace.findIndex(
        (e) => (e.kind === 'tx' || e.kind === 'rx') && `${e.where}/${e.dev ?? ''}` === m.point && e.t_ns === f.input.t,
      );
      const end = at < 0 ? trace.length : at + 1;
      const start = Math.max(0, end - EVENTS_PER_PACKET);
      lines.push(`      podnet trace of packet ${id}${at < 0 ? '' : ` up to ${m.point}`}:`);
      if (start > 0) lines.push(`      … ${start} earlier events`);
      for (const e of trace.slice(start, end)) lines.push(`      ${hopLine(e)}`);
      if (end < trace.length) lines.push(`      … ${trace.length - end} later events (all of them in --json)`);
    }
  }
  return lines;
}

/** The human report. */
export function formatVerifyText(r: VerifyResult): string {
  const out: string[] = [];
  out.push(`podnet verify --kernel: ${r.topology}, scenario "${r.scenario}", seed ${r.seed}`);
  out.push(
    `kernel ${r.kernelRelease}; ${r.namespaces} namespaces (${r.prefix}*); ${r.points.length} capture points; compared 0–${ms(r.windowEnd)} ms of the scenario (kernel ${ms(r.lag)} ms behind podnet's schedule)`,
  );
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push('');
  out.push('probes');
  const excusedAt = (point: string, field: string | undefined): boolean =>
    r.excused.some((x) => x.mismatch.point === point && x.mismatch.field === field);
  const outcome = (p: VerifyResult['probes'][number]): string => {
    if (p.mismatches.length === 0) return 'same';
    const excused = p.mismatches.filter((m) => excusedAt(m.point, m.field)).length;
    return excused === p.mismatches.length ? `different in ${excused} (excused)` : 'DIFFERENT';
  };
  const probeRows = r.probes.map((p) => [
    p.name,
    p.protocol,
    `${p.from} → ${p.to}`,
    outcome(p),
    summarizeOutcomes(p.kernel),
  ]);
  out.push(
    formatTable(
      ['  name', 'proto', 'path', 'outcome', 'kernel (per seq/attempt)'],
      probeRows.map((row) => [`  ${row[0]}`, ...row.slice(1)] as string[]),
    )
      .split('\n')
      .join('\n'),
  );
  if (r.services !== undefined) {
    out.push('');
    out.push(...formatServices(r.services));
  }
  out.push('');
  out.push('capture points');
  const excusedHere = (point: string): number => r.excused.filter((x) => x.mismatch.point === point).length;
  const rows = r.points.map((p) => [
    `  ${p.point}`,
    String(p.kernel),
    String(p.podnet),
    String(p.paired),
    p.capture === undefined
      ? '?'
      : p.capture.complete
        ? 'complete'
        : `INCOMPLETE (${p.capture.captured}/${p.capture.received}, ${p.capture.dropped} dropped)`,
    p.mismatches === 0
      ? 'same'
      : `${p.mismatches} difference${p.mismatches === 1 ? '' : 's'}${excusedText(excusedHere(p.point), p.mismatches)}`,
  ]);
  out.push(formatTable(['  point', 'kernel', 'podnet', 'paired', 'tcpdump', 'result'], rows));
  const outside = r.points.flatMap((p) =>
    p.outside.map((o) => `  ${p.point}: ${o.when} the window at ${ms(o.t)} ms: ${o.summary}`),
  );
  out.push('');
  out.push(
    `frames outside the comparison window (not compared; kernel's unless marked podnet): ${outside.length === 0 ? 'none' : ''}`,
  );
  out.push(...outside);
  out.push(
    `tolerated reorderings (concurrent on both sides: different flows within ${ms(CONCURRENCY_WINDOW)} ms, the two directions of one connection within ${ms(CROSSING_WINDOW)} ms, different connections of one flow or Service probe within ${ms(ATTEMPTS_WINDOW)} ms, different probes of a parallel scenario within ${ms(PARALLEL_WINDOW)} ms; delayed ARP probes against other flows): ${r.tolerated.length === 0 ? 'none' : ''}`,
  );
  for (const t of r.tolerated)
    out.push(
      `  ${t.point} (${t.why}): kernel #${t.kernel[0] + 1}, #${t.kernel[1] + 1} = podnet #${t.podnet[0] + 1}, #${t.podnet[1] + 1} (${t.summaries[0]} | ${t.summaries[1]})`,
    );
  out.push(`expected differences: ${r.expected.length === 0 ? 'none defined' : ''}`);
  for (const e of r.expected) out.push(`  ${e.id} (until ${e.until}): ${e.reason}`);
  if (r.excused.length > 0) {
    out.push(`excused by them (${r.excused.length}):`);
    const byId = new Map<string, number>();
    for (const x of r.excused) byId.set(x.by.id, (byId.get(x.by.id) ?? 0) + 1);
    out.push(`  by entry: ${[...byId].map(([id, n]) => `${id} ${n}`).join(', ')}`);
    for (const x of r.excused.slice(0, EXCUSED_IN_TEXT))
      out.push(
        `  ${x.by.id}: ${x.mismatch.point} ${idx(x.mismatch.kernelIndex)} ${x.mismatch.field ?? x.mismatch.kind}: ` +
          `kernel ${x.mismatch.kernel}, podnet ${x.mismatch.podnet}` +
          (x.mismatch.service === undefined
            ? ''
            : ` (${x.mismatch.service.probe} attempt ${x.mismatch.service.attempt + 1})`),
      );
    if (r.excused.length > EXCUSED_IN_TEXT)
      out.push(`  … ${r.excused.length - EXCUSED_IN_TEXT} more (all of them in --json)`);
  }
  out.push('');
  if (r.mismatches.length === 0) {
    out.push('mismatches: none');
  } else {
    out.push(`mismatches: ${r.mismatches.length}`);
    r.mismatches.forEach((m, i) => {
      out.push(...formatMismatch(m, i + 1, r.scenario, i < TRACED_IN_TEXT ? r.events : undefined));
    });
  }
  out.push('');
  const c = r.cleanup;
  out.push(
    `cleanup: ${c.processesStopped} processes stopped, ${c.strayProcessesKilled} stray processes killed, ${c.namespacesDeleted} namespaces deleted, ${c.leftover.length === 0 ? 'none left' : `LEFT: ${c.leftover.join(', ')}`}`,
  );
  if (r.files !== undefined)
    out.push(
      `files kept in ${r.files} (kernel/*.pcap, podnet.pcapng${r.services === undefined ? '' : " (the forced replay), podnet-unforced.pcapng (podnet's own choices)"}, kernel-topology.sh)`,
    );
  out.push(
    `result: ${r.mismatches.length === 0 ? 'MATCH' : `MISMATCH (${r.mismatches.length} difference${r.mismatches.length === 1 ? '' : 's'})`}`,
  );
  return out.join('\n');
}

function mismatchJson(m: Mismatch, events: readonly HopJson[]): Record<string, unknown> {
  const f = m.podnetFrame;
  return {
    kind: m.kind,
    point: m.point,
    kernelIndex: m.kernelIndex === undefined ? null : m.kernelIndex + 1,
    podnetIndex: m.podnetIndex === undefined ? null : m.podnetIndex + 1,
    field: m.field ?? null,
    kernel: m.kernel,
    podnet: m.podnet,
    frame: m.summary ?? null,
    note: m.note ?? null,
    forced: m.forced ?? null,
    service: m.service ?? null,
    podnetPacket: f?.input.packetId ?? null,
    podnetComment: f?.input.comment ?? null,
    podnetTrace: f === undefined ? [] : packetTrace(events, f.input.packetId),
  };
}

/** The JSON report (schema `podnet.verify/v1`). */
export function verifyJson(r: VerifyResult): Record<string, unknown> {
  return {
    schema: 'podnet.verify/v1',
    topology: r.topology,
    scenario: r.scenario,
    seed: r.seed,
    kernel: r.kernelRelease,
    namespacePrefix: r.prefix,
    namespaces: r.namespaces,
    windowEndNs: r.windowEnd,
    kernelLagNs: r.lag,
    match: r.mismatches.length === 0,
    notes: r.notes,
    probes: r.probes.map((p) => ({
      name: p.name,
      protocol: p.protocol,
      from: p.from,
      to: p.to,
      kernel: p.kernel,
      podnet: p.podnet,
      same: p.mismatches.length === 0,
    })),
    points: r.points.map((p) => ({
      point: p.point,
      kernel: p.kernel,
      podnet: p.podnet,
      paired: p.paired,
      mismatches: p.mismatches,
      tcpdump: p.capture ?? null,
      outsideWindow: p.outside,
    })),
    tolerated: r.tolerated.map((t) => ({
      point: t.point,
      why: t.why,
      kernel: t.kernel.map((i) => i + 1),
      podnet: t.podnet.map((i) => i + 1),
      frames: t.summaries,
      gapKernelNs: t.gapKernel,
      gapPodnetNs: t.gapPodnet,
    })),
    expectedDifferences: r.expected.map((e) => ({ id: e.id, until: e.until, reason: e.reason })),
    excused: r.excused.map((x) => ({ by: x.by.id, ...mismatchJson(x.mismatch, r.events) })),
    mismatches: r.mismatches.map((m) => mismatchJson(m, r.events)),
    services: r.services === undefined ? null : servicesJson(r.services),
    cleanup: r.cleanup,
    files: r.files ?? null,
  };
}

function servicesJson(s: ServiceCheck): Record<string, unknown> {
  const d = s.distribution;
  return {
    probes: s.probes.map((p) => ({
      probe: p.name,
      via: p.via,
      to: `${p.dst}:${p.dport}`,
      protocol: p.protocol,
      client: p.client,
      entryNode: p.entryNode,
      chain: p.chain ?? null,
      listed: p.listed,
      affinity: p.affinity,
    })),
    choices: s.slots.map((x) => ({
      probe: x.probe,
      attempt: x.attempt + 1,
      syn: x.ordinal + 1,
      kernel: x.kernel,
      how: x.how,
      podnet: x.podnet,
      forced: x.forced,
      random: x.random,
      podnetListed: x.listed,
    })),
    problems: { kernel: s.kernel.problems, podnet: s.podnet.problems },
    podnetPortReused: [...s.podnetPortReused],
    distribution: {
      test: 'chi-square test of homogeneity',
      alpha: d.alpha,
      categories: d.categories,
      kernel: d.a,
      podnetUnforced: d.b,
      chi2: d.chi2 ?? null,
      df: d.df,
      p: d.p ?? null,
      minExpected: d.minExpected,
      applicable: d.applicable,
      why: d.why ?? null,
      ok: d.ok,
    },
    recent: s.recent,
  };
}

/** How many of a capture point's differences were excused, after its count of differences. */
function excusedText(excused: number, mismatches: number): string {
  return excused === 0 ? '' : excused === mismatches ? ', all excused' : `, ${excused} excused`;
}
