/** `podnet validate`: load a topology and report every problem in one pass. */
import type { CommandModule } from 'yargs';
import { formatDiagnostic, loadTopologyPath } from '../kube/load/index.js';
import { EXIT, err, out } from './common.js';
import { VALIDATE_OPTION, validateMode } from './common.js';

interface ValidateArgs {
  topology: string[];
  quiet: boolean;
  validate: string;
}

/** The validate command definition. */
export function validateCommand(setCode: (c: number) => void): CommandModule<object, ValidateArgs> {
  return {
    command: 'validate <topology..>',
    describe: 'Check topology files: every error with file:line:col, object and field',
    builder: (y) =>
      y
        .positional('topology', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: 'Topology files or folders',
        })
        .option('validate', VALIDATE_OPTION)
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print errors only' })
        .example('$0 validate topologies/', 'Check every example topology')
        .epilog('Exit codes: 0 every topology loads (notices allowed), 2 an error in any of them, 70 internal error.'),
    handler: (args) => {
      let failed = 0;
      for (const path of args.topology) {
        const r = loadTopologyPath(path, 1, validateMode(args.validate));
        const errors = r.diagnostics.filter((d) => d.severity === 'error');
        for (const d of r.diagnostics) {
          if (d.severity === 'error') err(formatDiagnostic(d));
          else if (!args.quiet) err(formatDiagnostic(d));
        }
        if (errors.length > 0 || r.model === undefined) {
          failed++;
          err(`${path}: ${errors.length} error${errors.length === 1 ? '' : 's'}`);
        } else if (!args.quiet) {
          const m = r.model;
          out(
            `${path}: ok — ${m.nodes.length} nodes, ${m.pods.length} pods, ${m.scenario ? `${m.scenario.probes.length} probes` : 'no scenario'}`,
          );
        }
      }
      setCode(failed > 0 ? EXIT.usage : EXIT.ok);
    },
  };
}
