/**
 * Expected differences: things podnet is known to do differently from the kernel, each found by
 * this suite, reported to the lead and tied to the fix that will remove it. A mismatch one of
 * these matches is not counted as a failure, but every report prints the list and every excused
 * mismatch (text and JSON), so nothing is hidden; each entry matches as narrowly as the evidence
 * allows, so anything else on the same packets still fails.
 *
 * None is in force. The Service scenarios (kernel 6.18) found three, since fixed, and the suite
 * now checks them with no excuse:
 *
 * - `timewait-reopen-keeps-dnat` (d-clusterip-tcp): a SYN on a 4-tuple whose conntrack entry is in
 *   TIME_WAIT — Linux (nf_conntrack_tcp_packet) kills the entry and starts a new one with a new NAT
 *   decision; podnet now does too (src/netfilter/conntrack.ts reopensClosed), and its connect()
 *   walks ports as __inet_hash_connect does (src/net/sockets.ts connectPort), so reuse is as rare
 *   as in the kernel.
 * - `bridged-dnat-stale-neighbour` (h-hairpin, h-hairpin-off): br_netfilter's bridged-DNAT fast
 *   path needs a NUD_CONNECTED neighbour with a header cache; otherwise the frame goes through
 *   neigh->output on cni0 (seen there with cni0's MAC) — src/netfilter/bridge-nf.ts and the
 *   entry's `hh` flag (src/net/neigh.ts).
 * - `tcp-syn-linear-timeouts` (h-hairpin-off, f-nodeport-local): SYNs 1 s apart for the first
 *   tcp_syn_linear_timeouts (4) retransmissions — src/net/tcp.ts.
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
