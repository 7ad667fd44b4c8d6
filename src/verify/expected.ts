/**
 * Expected differences: things podnet is known not to do yet, each tied to the issue that will
 * add it. A mismatch one of these matches is not counted as a failure, but every report prints
 * the list and every excused mismatch, so nothing is hidden.
 *
 * The list is empty today. The per-node iptables-restore hook of plan.ts is a no-op by itself;
 * verify.ts plugs podnet's own ruleset of each node into it (`netfilter: 'mirror'`, the
 * default), so both sides run the same kube-proxy and flannel rules — or, with
 * `--no-netfilter`, neither does. Should the kernel ever be given rules podnet does not emulate
 * (say flannel's masquerade while podnet lacks it: the source address a pod sees for traffic
 * from an external host routed through a node would differ, FINDINGS i6), add entries here, e.g.
 *
 *   { id: 'no-flannel-masquerade', until: 'issue 4',
 *     reason: "podnet has no netfilter: FLANNEL-POSTRTG's MASQUERADE of non-pod sources is not applied",
 *     applies: (m) => m.kind === 'field' && /(^|\.)ip\.src$|banner\.peer$/.test(m.field ?? '') && m.kernel.startsWith('10.244.') }
 *
 * Services (ClusterIP, NodePort, affinity, hairpin through a Service) come with podnet's
 * netfilter (issue 4). Their comparison will need backend-choice replay: for each flow, the
 * backend the kernel's random DNAT chose must be one podnet lists for that flow; then podnet
 * replays the flow with that choice forced, and the packets are compared as here.
 */
import type { Mismatch } from './compare.js';

/** A known, tracked difference. */
export interface ExpectedDifference {
  readonly id: string;
  /** The issue (or milestone) after which it must no longer occur. */
  readonly until: string;
  readonly reason: string;
  /** Whether a mismatch is this difference (given the scenario name). */
  readonly applies: (m: Mismatch, scenario: string) => boolean;
}

/** The expected differences in force. */
export const EXPECTED_DIFFERENCES: readonly ExpectedDifference[] = [];

/** Splits mismatches into real ones and those excused by an expected difference. */
export function applyExpected(
  mismatches: readonly Mismatch[],
  scenario: string,
  list: readonly ExpectedDifference[] = EXPECTED_DIFFERENCES,
): { real: Mismatch[]; excused: Array<{ mismatch: Mismatch; by: ExpectedDifference }> } {
  const real: Mismatch[] = [];
  const excused: Array<{ mismatch: Mismatch; by: ExpectedDifference }> = [];
  for (const m of mismatches) {
    const by = list.find((e) => e.applies(m, scenario));
    if (by === undefined) real.push(m);
    else excused.push({ mismatch: m, by });
  }
  return { real, excused };
}
