#!/usr/bin/env node
/** The podnet command line: yargs wiring only; the work happens in the library. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, UsageError, err } from './common.js';
import { traceCommand } from './trace.js';
import { runCommand } from './run.js';
import { validateCommand } from './validate.js';
import { rulesCommand } from './rules.js';
import { verifyCommand } from './verify.js';
import { digCommand } from './dig.js';
import { isOutputPathError } from './errors.js';

const EPILOG = `Topologies are multi-document YAML: a podnet Cluster document, Kubernetes objects (Pods...),
and a podnet Scenario listing probes. Without a topology argument podnet uses a built-in
two-node cluster. Exit codes: 0 ok, 2 bad input (topology, flags), 70 internal error.
Docs: README.md ("Topology files", "Trace events", "JSON output").`;

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const parser = yargs(argv)
    .scriptName('podnet')
    .usage(
      '$0 <command> [topology] [options]\n\nEmulate a Kubernetes pod network packet by packet: veth, the cni0 bridge, flannel VXLAN,\nIPv4 routing and ARP, traced hop by hop and captured as pcapng.',
    )
    .command(traceCommand((c) => (code = c)))
    .command(runCommand((c) => (code = c)))
    .command(validateCommand((c) => (code = c)))
    .command(rulesCommand((c) => (code = c)))
    .command(verifyCommand((c) => (code = c)))
    .command(digCommand((c) => (code = c)))
    .demandCommand(1, 'Name a command: trace, run, rules or validate (see --help).')
    .strict()
    .recommendCommands()
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help()
    .alias('h', 'help')
    .version()
    .fail((msg, e, y) => {
      if (e) throw e;
      void y;
      throw new UsageError(`${msg}\nRun with --help for usage.`);
    });
  await parser.parseAsync();
  return code;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      err(`podnet: ${e.message}`);
      for (const d of e.details) err(`  ${d}`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (isOutputPathError(e)) {
      err(`podnet: ${(e as Error).message}`);
      process.exitCode = EXIT.usage;
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    err(`podnet: internal error: ${msg}`);
    if (process.env.PODNET_DEBUG && e instanceof Error && e.stack) err(e.stack);
    else err('(set PODNET_DEBUG=1 for a stack trace; please report this)');
    process.exitCode = EXIT.internal;
  },
);
