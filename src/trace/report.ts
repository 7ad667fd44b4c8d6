/** Human summaries of probe results (the `podnet run` table and `podnet trace`'s result line). */
import type { ProbeReport } from '../simulation.js';
import type { ProbeExpectation } from '../kube/model.js';
import { formatTable } from './format.js';

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
  const s = [...new Set(r.attempts.map((a) => a.ttl).filter((t): t is number => t !== undefined))].sort((a, b) => a - b);
  return s.length ? s.join(',') : '-';
}

/** Distinct errors with counts, as tools print them. */
export function probeErrors(r: ProbeReport): string[] {
  const m = counts(r.attempts.map((a) => a.error));
  return [...m.entries()].map(([e, n]) => (n > 1 ? `${e} (×${n})` : e));
}

/** The `podnet run` results table; `checks[i]` is the outcome of probe i's `expect:` (undefined: none). */
export function formatRunTable(reports: readonly ProbeReport[], checks: ReadonlyArray<readonly string[] | undefined> = []): string {
  const withChecks = checks.some((c) => c !== undefined);
  const rows = reports.map((r, i) => {
    const answered = formatCounts(counts(r.attempts.map((a) => a.answeredBy)), r.replies);
    const saw = r.protocol === 'icmp' ? '-' : formatCounts(counts(r.attempts.map((a) => a.serverSaw?.replace(/:\d+$/, ''))), r.replies);
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
  const header = ['PROBE', 'PROTO', 'FROM', 'TO', 'SENT', 'DELIVERED', 'REPLIES', 'LOST', 'TTL', 'ANSWERED BY', 'SERVER SAW'];
  return formatTable(withChecks ? ['CHECK', ...header] : header, rows);
}

/** One paragraph describing a single probe's outcome (for `podnet trace`). */
export function formatProbeOutcome(r: ProbeReport): string {
  const lines: string[] = [];
  const target = `${r.to}${r.port !== undefined && !r.to.endsWith(`:${r.port}`) ? `:${r.port}` : ''} (${r.dst === '' ? 'not resolved' : r.dst})`;
  lines.push(`${r.protocol} ${r.from} → ${target}: ${r.replies}/${r.attempts.length} answered, ${r.lost} lost${r.localErrors ? `, ${r.localErrors} failed locally` : ''}`);
  for (const a of r.attempts) {
    const parts: string[] = [];
    if (a.ok) {
      if (r.protocol === 'icmp') parts.push(`reply from ${a.replyFrom}`);
      else parts.push(`answered by ${a.answeredBy ?? '?'}`, `which saw the client as ${a.serverSaw ?? '?'}`);
      if (a.ttl !== undefined) parts.push(`reply TTL ${a.ttl}`);
      if (a.rttNs !== undefined) parts.push(`${r.protocol === 'tcp' ? 'handshake' : 'rtt'} ${(a.rttNs / 1e6).toFixed(3)} ms`);
    } else parts.push(a.error ?? 'no reply');
    lines.push(`  #${a.index + 1}${a.sourcePort !== undefined ? ` (source port ${a.sourcePort})` : ''}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

/** Checks a probe's result against its `expect:` block; returns what did not hold (empty: all good). */
export function checkExpectation(r: ProbeReport, exp: ProbeExpectation): string[] {
  const fails: string[] = [];
  if (exp.replies !== undefined && r.replies !== exp.replies) fails.push(`expected ${exp.replies} replies, got ${r.replies}`);
  if (exp.lost !== undefined && r.lost !== exp.lost) fails.push(`expected ${exp.lost} lost, got ${r.lost}`);
  if (exp.ttl !== undefined) {
    const bad = r.attempts.filter((a) => a.ok && a.ttl !== exp.ttl).map((a) => a.ttl);
    if (bad.length > 0) fails.push(`expected reply TTL ${exp.ttl}, got ${[...new Set(bad)].join(', ')}`);
  }
  if (exp.answeredBy !== undefined) {
    const allowed = new Set(exp.answeredBy);
    const bad = [...new Set(r.attempts.filter((a) => a.ok && !allowed.has(a.answeredBy ?? '')).map((a) => a.answeredBy ?? '?'))];
    if (bad.length > 0) fails.push(`expected answers from ${exp.answeredBy.join(' or ')}, also got ${bad.join(', ')}`);
  }
  if (exp.serverSaw !== undefined) {
    const allowed = new Set(exp.serverSaw);
    const bad = [...new Set(r.attempts.filter((a) => a.ok && a.serverSaw !== undefined && !allowed.has(a.serverSaw.replace(/:\d+$/, ''))).map((a) => a.serverSaw!.replace(/:\d+$/, '')))];
    if (bad.length > 0) fails.push(`expected the server to see ${exp.serverSaw.join(' or ')}, it saw ${bad.join(', ')}`);
  }
  if (exp.sameAnswer === true) {
    const by = [...new Set(r.attempts.filter((a) => a.ok).map((a) => a.answeredBy))];
    if (by.length > 1) fails.push(`expected every answer from one endpoint, got ${by.join(', ')}`);
  }
  if (exp.error !== undefined) {
    const bad = r.attempts.filter((a) => !a.ok && !(a.error ?? '').includes(exp.error!));
    if (bad.length > 0 || r.attempts.every((a) => a.ok)) fails.push(`expected failures with "${exp.error}", got ${bad.length ? [...new Set(bad.map((a) => a.error ?? 'none'))].join('; ') : 'no failure'}`);
  }
  return fails;
}
