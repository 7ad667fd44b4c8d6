/**
 * flanneld's iptables rules (with `--ip-masq`): filter FLANNEL-FWD accepting the cluster CIDR both
 * ways, and nat FLANNEL-POSTRTG masquerading pod traffic that leaves the cluster CIDR, which names
 * the node's own pod subnet; its jumps are appended after kube-proxy's.
 */
import type { Cidr, ClusterModel, NodeModel } from '../model.js';
import { userChain, type Chain, type Match, type Rule } from '../../netfilter/rules.js';
import { ACCEPT, C, D, J, MULTICAST, R, RETURN, S, masqueradeTarget } from './rule-builders.js';
import type { NodeChainSink, RulesWriter, TablePart, TablesPart } from './writer.js';

/** The rules of FLANNEL-POSTRTG that are the same on every node (shared between their chains). */
interface SharedPostrouting {
  readonly markReturn: Rule;
  readonly masqOut: Rule;
  readonly masqIn: Rule;
  readonly comment: Match;
}

/** flanneld as a writer of iptables rules. */
export class FlannelRules implements RulesWriter {
  readonly agent = 'flannel';
  private postrouting: SharedPostrouting | undefined;

  /** `ipMasq`: flanneld runs with `--ip-masq`; `randomFully`: iptables supports `--random-fully`. */
  constructor(
    private readonly model: ClusterModel,
    private readonly ipMasq: boolean,
    private readonly randomFully: boolean,
  ) {}

  shared(): TablesPart {
    const cc = this.model.clusterCIDR;
    const cm = C('flanneld forward');
    const part: { filter: TablePart; nat?: TablePart } = {
      filter: {
        builtin: [{ chain: 'FORWARD', position: 'append', rules: [R([cm], J('FLANNEL-FWD'))] }],
        chains: [userChain('FLANNEL-FWD', [R([cm, S(cc)], ACCEPT), R([cm, D(cc)], ACCEPT)])],
      },
    };
    if (this.ipMasq) {
      part.nat = {
        builtin: [{ chain: 'POSTROUTING', position: 'append', rules: [R([C('flanneld masq')], J('FLANNEL-POSTRTG'))] }],
      };
    }
    return part;
  }

  nodeChains(node: NodeModel, sink: NodeChainSink): void {
    if (this.ipMasq) sink.add('nat', this.postroutingChain(node));
  }

  /** FLANNEL-POSTRTG: it names the node's own pod subnet, so each node has its own. */
  private postroutingChain(node: NodeModel): Chain {
    const cc = this.model.clusterCIDR;
    const pod: Cidr = { addr: node.podCIDR.addr, len: node.podCIDR.len };
    const f = this.sharedPostrouting();
    return userChain('FLANNEL-POSTRTG', [
      f.markReturn,
      R([S(pod), D(cc), f.comment], RETURN),
      R([S(cc), D(pod), f.comment], RETURN),
      R([S(cc, true), D(pod), f.comment], RETURN),
      f.masqOut,
      f.masqIn,
    ]);
  }

  private sharedPostrouting(): SharedPostrouting {
    if (this.postrouting === undefined) {
      const cc = this.model.clusterCIDR;
      const comment = C('flanneld masq');
      const masq = masqueradeTarget(this.randomFully);
      this.postrouting = {
        comment,
        // flannel's KubeProxyMark is the fixed string "0x4000/0x4000", whatever kube-proxy's bit.
        markReturn: R([{ kind: 'mark', invert: false, value: 0x4000, mask: 0x4000 }, comment], RETURN),
        masqOut: R([S(cc), D(MULTICAST, true), comment], masq),
        masqIn: R([S(cc, true), D(cc), comment], masq),
      };
    }
    return this.postrouting;
  }
}
