/**
 * `podnet verify --kernel`: run a topology's Scenario in podnet and in real Linux namespaces, compare packet by packet.
 */
import type { CommandModule } from 'yargs';
import { join } from 'node:path';
import { EXIT, UsageError, err, loadModel, out, parseSeed } from './common.js';
import { VALIDATE_OPTION, validateMode } from './common.js';
import { DEFAULT_OUTPUT_DIR, planOutputDir } from './outputs.js';
import { KernelUnavailableError, StaleNamespacesError, verifyKernel } from '../verify/verify.js';
import { KernelCommandError } from '../verify/host.js';
import { formatVerifyText, verifyJson } from '../verify/report.js';

/**
 * Exit code when this machine cannot build network namespaces (not root, no `ip`, `ip netns add` fails): nothing was
 * compared.
 */
export const EXIT_KERNEL_UNAVAILABLE = 77;

interface VerifyArgs {
  topology: string;
  kernel: boolean;
  json: boolean;
  keep: boolean;
  out: string | undefined;
  preclean: boolean;
  netfilter: boolean;
  seed: string | undefined;
  validate: string;
}

/** The verify command definition. */
export function verifyCommand(setCode: (c: number) => void): CommandModule<object, VerifyArgs> {
  return {
    command: 'verify <topology>',
    describe:
      'Check podnet against the Linux kernel: build the same topology in network namespaces, run the Scenario in both, compare every capture point packet by packet (root)',
    builder: (y) =>
      y
        .positional('topology', {
          type: 'string',
          demandOption: true,
          describe: 'Topology file or folder with a Scenario',
        })
        .option('kernel', {
          type: 'boolean',
          default: false,
          describe:
            'Compare against the kernel in network namespaces (the only reference so far; needs root, iproute2, tcpdump, iputils ping)',
        })
        .option('json', {
          type: 'boolean',
          default: false,
          describe: 'Print the report as JSON (schema podnet.verify/v1)',
        })
        .option('keep', {
          type: 'boolean',
          default: false,
          describe:
            'Keep the captures (kernel pcaps, podnet pcapng), the kernel topology script and the reports (default folder captures/verify-<scenario>-seed<seed>)',
        })
        .option('out', { type: 'string', describe: 'Folder for --keep (implies --keep)' })
        .option('preclean', {
          type: 'boolean',
          default: false,
          describe: 'First remove pnk<pid>-* namespaces left by earlier runs that were killed',
        })
        .option('netfilter', {
          type: 'boolean',
          default: true,
          describe:
            "Give each kernel node podnet's own iptables rules for it (iptables-restore of podnet's iptables-save); --no-netfilter runs podnet without netfilter and the kernel without rules",
        })
        .option('validate', VALIDATE_OPTION)
        .option('seed', { type: 'string', describe: 'podnet RNG seed: an integer or "random" (default 1)' })
        .example(
          'sudo $0 verify test/kernel/scenarios/b-cross-node-ping.yaml --kernel',
          'Cross-node ping: podnet vs the kernel at every interface',
        )
        .example('sudo $0 verify topologies/mtu.yaml --kernel --keep', "Also keep both sides' captures for Wireshark")
        .example(
          'sudo $0 verify test/kernel/scenarios/d-clusterip-tcp.yaml --kernel',
          "A Service: the kernel's backend choices are replayed in podnet and their distribution tested",
        )
        .example(
          'sudo $0 verify test/kernel/scenarios/q-dns-kube-dns.yaml --kernel',
          "Probes by name: glibc resolves through kube-dns to a CoreDNS pod on the kernel side, podnet's resolver on the other",
        )
        .epilog(
          "Exit codes: 0 every capture point and probe matched, 1 differences (listed with podnet's trace of each packet), 2 bad input or namespaces of another run exist (see --preclean), 77 this machine cannot create network namespaces (nothing compared), 70 internal error.\nProbes to a Service address: the backend the kernel chose for each SYN must be one podnet lists; podnet replays the scenario with those choices forced, and the kernel's random choices are tested against podnet's own (chi-square test of homogeneity, α = 0.001).\nProbes to a host name: glibc resolves it in the kernel with the pod's resolv.conf (written to /etc/netns/pnk<pid>-*/ for ip netns exec) and CoreDNS pods run podnet's CoreDNS over real sockets; DNS messages are compared field by field.\nEverything it creates is named pnk<pid>-* and deleted on exit, Ctrl-C and SIGTERM included.",
        ),
    handler: async (args) => {
      setCode(await runVerify(args));
    },
  };
}

async function runVerify(args: VerifyArgs): Promise<number> {
  if (!args.kernel)
    throw new UsageError(
      'podnet verify needs --kernel (the Linux kernel in network namespaces is the only reference so far)',
    );
  const seed = parseSeed(args.seed);
  const { model, name } = loadModel(args.topology, args.json, seed, validateMode(args.validate));
  const scenario = model.scenario;
  if (scenario === undefined || scenario.probes.length === 0)
    throw new UsageError(`${name} has no Scenario probes to verify (add a podnet Scenario document)`);
  const keepDir =
    args.out ??
    (args.keep ? join('captures', `verify-${scenario.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-seed${seed}`) : undefined);
  // checked before namespaces are made: --out names one folder to create, never its parents
  if (args.out !== undefined) planOutputDir('--out', args.out);
  else if (keepDir !== undefined) {
    planOutputDir('--keep', DEFAULT_OUTPUT_DIR);
    planOutputDir('--keep', keepDir);
  }
  const log = args.json ? undefined : (l: string): void => err(`podnet verify: ${l}`);
  try {
    const result = await verifyKernel(model, {
      seed,
      topology: name,
      keepDir,
      preclean: args.preclean,
      netfilter: args.netfilter ? 'mirror' : 'off',
      ...(log === undefined ? {} : { log }),
      onSignal: (sig) => err(`podnet verify: ${sig}: cleaning up`),
    });
    const text = formatVerifyText(result);
    if (keepDir !== undefined) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(keepDir, 'report.txt'), `${text}\n`);
      writeFileSync(join(keepDir, 'report.json'), `${JSON.stringify(verifyJson(result), null, 2)}\n`);
    }
    if (args.json) out(JSON.stringify(verifyJson(result), null, 2));
    else out(text);
    return result.mismatches.length === 0 ? EXIT.ok : EXIT.failed;
  } catch (e) {
    if (e instanceof KernelUnavailableError) {
      err(`podnet verify: cannot build network namespaces here: ${e.message}`);
      return EXIT_KERNEL_UNAVAILABLE;
    }
    if (e instanceof StaleNamespacesError) throw new UsageError(e.message);
    if (e instanceof KernelCommandError) {
      err(`podnet verify: ${e.message}`);
      err('podnet verify: everything this run created was removed');
      return EXIT.internal;
    }
    throw e;
  }
}
