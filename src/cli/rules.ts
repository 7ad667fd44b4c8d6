/** `podnet rules`: print a node's iptables-save, as kube-proxy and flannel would have written it. */
import type { CommandModule } from 'yargs';
import { buildClusterRules } from '../kube/agents/node-rules.js';
import { formatIptablesSave } from '../netfilter/iptables-save.js';
import type { TableName } from '../netfilter/rules.js';
import { EXIT, UsageError, loadModel, out } from './common.js';
import { VALIDATE_OPTION, validateMode } from './common.js';

interface RulesArgs {
  validate: string;
  topology: string | undefined;
  node: string | undefined;
  table: string[] | undefined;
}

/** The rules command definition. */
export function rulesCommand(setCode: (c: number) => void): CommandModule<object, RulesArgs> {
  return {
    command: 'rules [topology]',
    describe: "Print a node's iptables-save (kube-proxy iptables mode + flannel), ready for iptables-restore",
    builder: (y) =>
      y
        .positional('topology', {
          type: 'string',
          describe: 'Topology file or folder (default: the built-in two-node cluster)',
        })
        .option('validate', VALIDATE_OPTION)
        .option('node', { type: 'string', describe: 'Node to print (default: the first node)' })
        .option('table', {
          type: 'string',
          array: true,
          choices: ['raw', 'mangle', 'filter', 'nat'],
          describe: 'Only these tables',
        })
        .example('$0 rules topologies/services.yaml --node node2', "node2's rules")
        .example('$0 rules --table nat | grep KUBE-SVC', 'The Service chains of the nat table')
        .epilog('Exit codes: 0 printed, 2 bad input (topology, --node), 70 internal error.'),
    handler: (args) => {
      const { model } = loadModel(args.topology, true, 1, validateMode(args.validate));
      const node = args.node ?? model.nodes[0]?.name;
      if (node === undefined || !model.nodes.some((n) => n.name === node)) {
        throw new UsageError(`no node named "${args.node}" (nodes: ${model.nodes.map((n) => n.name).join(', ')})`);
      }
      const rules = buildClusterRules(model);
      const text = formatIptablesSave(
        rules.rulesForNode(node),
        args.table ? { tables: args.table as TableName[] } : {},
      );
      out(text.replace(/\n$/, ''));
      setCode(EXIT.ok);
    },
  };
}
