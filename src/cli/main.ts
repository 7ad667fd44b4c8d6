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
two-node cluster. Durations take a unit: ns, us (µs), ms, s, m, h (200ms, 1.5s, 2m, 1h30m).
Exit codes:
  0   ok: trace and dig got an answer, run's expectations held, validate found no error
  1   not ok: trace got no answer (refused, timed out, dropped, unresolved), dig no response,
      run an expectation that did not hold, verify a mismatch with the kernel
  2   bad input: topology, flags, references, unwritable output
  70  internal error (a bug: please report it)
  77  verify --kernel: the kernel cannot be used here (no root, no netns)
Docs: README.md ("Topology files", "Trace events", "JSON output", "Exit codes").`;

const COMMANDS = 'trace, run, dig, rules, validate or verify';

/**
 * Refuses a single-valued flag given twice (`--from a --from b`): yargs makes an array of it, which
 * would reach the command as a list or silently keep one value. Flags declared as arrays may repeat.
 */
function refuseRepeats(argv: Record<string, unknown>, arrays: readonly string[]): void {
  for (const [key, v] of Object.entries(argv)) {
    // yargs also files each flag under its camelCase and one-letter aliases: the kebab-case name speaks
    if (!Array.isArray(v) || key === '_' || arrays.includes(key) || /[A-Z]/.test(key)) continue;
    const same = JSON.stringify(v);
    if (key.length === 1 && Object.entries(argv).some(([k, w]) => k.length > 1 && JSON.stringify(w) === same)) continue;
    const given = v.map((x) => JSON.stringify(x)).join(', ');
    throw new UsageError(`--${key} given ${v.length} times (${given}): give it once`);
  }
}

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const base = yargs(argv);
  // the options of the command being run (yargs resets them per command); getOptions is untyped
  const declaredArrays = (): string[] => (base as unknown as { getOptions(): { array: string[] } }).getOptions().array;
  const parser = base
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
    .middleware((argv) => refuseRepeats(argv, declaredArrays()))
    .demandCommand(1, `Name a command: ${COMMANDS} (see --help).`)
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
