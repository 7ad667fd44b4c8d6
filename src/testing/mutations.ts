/**
 * Deliberately broken kube-proxy variants, as edits of a node's iptables-save text: the kind of
 * bug a proxy developer makes. Each is caught by one of the shipped invariants (test/testing
 * proves which), and shows how to write your own with `ruleMutation(name, edit)`.
 */
import { ruleMutation } from '../api/rules.js';
import type { RuleMutation } from '../api/rules.js';

function editLines(dump: string, edit: (line: string) => string[]): string {
  return dump
    .split('\n')
    .flatMap((l) => edit(l))
    .join('\n');
}

/**
 * Leaves out KUBE-SEP's `-s <endpoint>/32 -j KUBE-MARK-MASQ`: a pod that reaches itself through its
 * Service is no longer masqueraded, answers itself directly, and its own connection breaks
 * (caught by `replyFromDialledAddress` and `deliveredToOneReadyEndpoint`).
 */
export const forgetHairpinMasquerade: RuleMutation = ruleMutation(
  'forget the hairpin masquerade (KUBE-SEP -s <endpoint>/32 -j KUBE-MARK-MASQ)',
  (dump) => editLines(dump, (l) => (/^-A KUBE-SEP-\S+ -s \S+\/32 .*-j KUBE-MARK-MASQ$/.test(l) ? [] : [l])),
);

/**
 * Masquerades external traffic of Services with externalTrafficPolicy Local before it goes to
 * the local endpoints, as if the policy were Cluster (caught by `clientIpPreserved`).
 */
export const masqueradeLocalPolicy: RuleMutation = ruleMutation(
  'masquerade externalTrafficPolicy Local traffic (KUBE-EXT -j KUBE-MARK-MASQ before KUBE-SVL)',
  (dump) =>
    editLines(dump, (l) => {
      const m = /^-A (KUBE-EXT-\S+) -j KUBE-SVL-\S+$/.exec(l);
      return m === null ? [l] : [`-A ${m[1]} -j KUBE-MARK-MASQ`, l];
    }),
);

/**
 * Drops the `-m recent --rcheck` rules of sessionAffinity ClientIP: every connection is balanced afresh (caught by
 * `affinityStable`).
 */
export const forgetSessionAffinity: RuleMutation = ruleMutation(
  'forget session affinity (the KUBE-SVC -m recent --rcheck rules)',
  (dump) => editLines(dump, (l) => (/^-A KUBE-SVC-\S+ .*--rcheck /.test(l) ? [] : [l])),
);

/**
 * Drops the jump from KUBE-SERVICES to KUBE-NODEPORTS: NodePorts stop answering (caught by
 * `deliveredToOneReadyEndpoint`).
 */
export const forgetNodePorts: RuleMutation = ruleMutation(
  'forget NodePorts (the KUBE-SERVICES -j KUBE-NODEPORTS rule)',
  (dump) => editLines(dump, (l) => (/^-A KUBE-SERVICES .*-j KUBE-NODEPORTS$/.test(l) ? [] : [l])),
);

/** Every mutation above, by name. */
export const mutations = {
  forgetHairpinMasquerade,
  masqueradeLocalPolicy,
  forgetSessionAffinity,
  forgetNodePorts,
} as const;
