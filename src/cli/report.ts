/** Human summaries of probe results (the `podnet run` table and `podnet trace`'s result line). */
import type { ProbeReport } from '../apps/probe.js';
import { formatTable } from '../trace/format.js';

function counts(values: ReadonlyArray<string | undefined>): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) if (v !== undefined) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

function formatCounts(m: Map<string, number>, total: number): string {
  if (m.size === 0) return '-';
  const entries = [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (entries.length === 1 && entries[0]![1] === total) return entries[0]![0];
  return entries.map(([k, n]) => `${k}×${n}`).join(' ');
}

/** TTLs seen in replies, compactly (`62`, `62,64`). */
function ttls(r: ProbeReport): string {
  const s = [...new Set(r.attempts.map((a) => a.ttl).filter((t): t is number => t !== undefined))].sort(
    (a, b) => a - b,
  );
  return s.length ? s.join(',') : '-';
}

/** Distinct errors with counts, as tools print them. */
export function probeErrors(r: ProbeReport): string[] {
  const m = counts(r.attempts.map((a) => a.error));
  return [...m.entries()].map(([e, n]) => (n > 1 ? `${e} (×${n})` : e));
}

/** The `podnet run` results table; `checks[i]` is the outcome of probe i's `expect:` (undefined: none). */
export function formatRunTable(
  reports: readonly ProbeReport[],
  checks: ReadonlyArray<readonly string[] | undefined> = [],
): string {
  const withChecks = checks.some((c) => c !== undefined);
  const rows = reports.map((r, i) => {
    const answered = formatCounts(counts(r.attempts.map((a) => a.answeredBy)), r.replies);
    const saw =
      r.protocol === 'icmp'
        ? '-'
        : formatCounts(counts(r.attempts.map((a) => a.serverSaw?.replace(/:\d+$/, ''))), r.replies);
    const row = [
      r.name,
      r.protocol,
      r.from,
      r.port !== undefined && !r.to.endsWith(`:${r.port}`) ? `${r.to}:${r.port}` : r.to,
      String(r.sent),
      String(r.delivered),
      String(r.replies),
      String(r.lost),
      ttls(r),
      answered,
      saw,
    ];
    const c = checks[i];
    return withChecks ? [c === undefined ? '-' : c.length === 0 ? 'ok' : 'FAIL', ...row] : row;
  });
  const header = [
    'PROBE',
    'PROTO',
    'FROM',
    'TO',
    'SENT',
    'DELIVERED',
    'REPLIES',
    'LOST',
    'TTL',
    'ANSWERED BY',
    'SERVER SAW',
  ];
  return formatTable(withChecks ? ['CHECK', ...header] : header, rows);
}

/** One paragraph describing a single probe's outcome (for `podnet trace`). */
export function formatProbeOutcome(r: ProbeReport): string {
  const lines: string[] = [];
  const target = `${r.to}${r.port !== undefined && !r.to.endsWith(`:${r.port}`) ? `:${r.port}` : ''} (${r.dst === '' ? 'not resolved' : r.dst})`;
  lines.push(
    `${r.protocol} ${r.from} → ${target}: ${r.replies}/${r.attempts.length} answered, ${r.lost} lost${r.localErrors ? `, ${r.localErrors} failed locally` : ''}`,
  );
  for (const a of r.attempts) {
    const parts: string[] = [];
    if (a.ok) {
      if (r.protocol === 'icmp') parts.push(`reply from ${a.replyFrom}`);
      else parts.push(`answered by ${a.answeredBy ?? '?'}`, `which saw the client as ${a.serverSaw ?? '?'}`);
      if (a.ttl !== undefined) parts.push(`reply TTL ${a.ttl}`);
      if (a.rttNs !== undefined)
        parts.push(`${r.protocol === 'tcp' ? 'handshake' : 'rtt'} ${(a.rttNs / 1e6).toFixed(3)} ms`);
    } else parts.push(a.error ?? 'no reply');
    lines.push(
      `  #${a.index + 1}${a.sourcePort !== undefined ? ` (source port ${a.sourcePort})` : ''}: ${parts.join(', ')}`,
    );
  }
  return lines.join('\n');
}
