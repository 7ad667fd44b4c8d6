/** A probe's `expect:` block checked against what the probe got. */
import type { ProbeReport } from '../apps/probe.js';
import type { ProbeExpectation } from '../kube/model.js';

/** Checks a probe's result against its `expect:` block; returns what did not hold (empty: all good). */
export function checkExpectation(r: ProbeReport, exp: ProbeExpectation): string[] {
  const fails: string[] = [];
  if (exp.replies !== undefined && r.replies !== exp.replies)
    fails.push(`expected ${exp.replies} replies, got ${r.replies}`);
  if (exp.lost !== undefined && r.lost !== exp.lost) fails.push(`expected ${exp.lost} lost, got ${r.lost}`);
  if (exp.ttl !== undefined) {
    const bad = r.attempts.filter((a) => a.ok && a.ttl !== exp.ttl).map((a) => a.ttl);
    if (bad.length > 0) fails.push(`expected reply TTL ${exp.ttl}, got ${[...new Set(bad)].join(', ')}`);
  }
  if (exp.answeredBy !== undefined) {
    const allowed = new Set(exp.answeredBy);
    const bad = [
      ...new Set(r.attempts.filter((a) => a.ok && !allowed.has(a.answeredBy ?? '')).map((a) => a.answeredBy ?? '?')),
    ];
    if (bad.length > 0) fails.push(`expected answers from ${exp.answeredBy.join(' or ')}, also got ${bad.join(', ')}`);
  }
  if (exp.serverSaw !== undefined) {
    const allowed = new Set(exp.serverSaw);
    const bad = [
      ...new Set(
        r.attempts
          .filter((a) => a.ok && a.serverSaw !== undefined && !allowed.has(a.serverSaw.replace(/:\d+$/, '')))
          .map((a) => a.serverSaw!.replace(/:\d+$/, '')),
      ),
    ];
    if (bad.length > 0)
      fails.push(`expected the server to see ${exp.serverSaw.join(' or ')}, it saw ${bad.join(', ')}`);
  }
  if (exp.sameAnswer === true) {
    const by = [...new Set(r.attempts.filter((a) => a.ok).map((a) => a.answeredBy))];
    if (by.length > 1) fails.push(`expected every answer from one endpoint, got ${by.join(', ')}`);
  }
  if (exp.error !== undefined) {
    const bad = r.attempts.filter((a) => !a.ok && !(a.error ?? '').includes(exp.error!));
    if (bad.length > 0 || r.attempts.every((a) => a.ok))
      fails.push(
        `expected failures with "${exp.error}", got ${bad.length ? [...new Set(bad.map((a) => a.error ?? 'none'))].join('; ') : 'no failure'}`,
      );
  }
  return fails;
}
