/**
 * kubelet's own iptables rules (v1.28+, IPTablesOwnershipCleanup GA): mangle KUBE-IPTABLES-HINT,
 * KUBE-KUBELET-CANARY in mangle, nat and filter, and filter KUBE-FIREWALL with the "block incoming
 * localnet connections" rule, jumped to from INPUT and OUTPUT. kubelet starts before kube-proxy,
 * so its jumps end up after kube-proxy's prepended ones.
 */
import { userChain } from '../../netfilter/rules.js';
import { KUBE_FIREWALL_JUMP, blockLocalnetRule } from './rule-builders.js';
import type { RulesWriter, TablesPart } from './writer.js';

/** kubelet as a writer of iptables rules (the same on every node). */
export class KubeletRules implements RulesWriter {
  readonly agent = 'kubelet';

  shared(): TablesPart {
    return {
      mangle: { chains: [userChain('KUBE-IPTABLES-HINT', []), userChain('KUBE-KUBELET-CANARY', [])] },
      nat: { chains: [userChain('KUBE-KUBELET-CANARY', [])] },
      filter: {
        builtin: [
          { chain: 'INPUT', position: 'append', rules: [KUBE_FIREWALL_JUMP] },
          { chain: 'OUTPUT', position: 'append', rules: [KUBE_FIREWALL_JUMP] },
        ],
        chains: [userChain('KUBE-FIREWALL', [blockLocalnetRule()]), userChain('KUBE-KUBELET-CANARY', [])],
      },
    };
  }
}
