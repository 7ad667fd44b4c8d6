/**
 * What the kernel-side probe clients share: their `--flag value` arguments, one JSON line per
 * finished attempt (exit when all are in), the start protocol with the executor, and name
 * resolution through glibc.
 */
import dns from 'node:dns';
import { getSystemErrorName } from 'node:util';

/** The `--flag value` pairs of the command line. */
export function parseArgs(argv: readonly string[] = process.argv): Map<string, string> {
  const opts = new Map<string, string>();
  for (let i = 2; i < argv.length; i += 2) opts.set(argv[i]!, argv[i + 1] ?? '');
  return opts;
}

/** The attempts' offsets (`--offsets-ms`, default one attempt at 0). */
export function offsetsOf(opts: ReadonlyMap<string, string>): number[] {
  return (opts.get('--offsets-ms') ?? '0').split(',').map(Number);
}

/** Prints each attempt's result as a JSON line; exits once `count` have been printed. */
export function resultPrinter(count: number): (result: Record<string, unknown>) => void {
  let remaining = count;
  return (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (--remaining === 0) process.exit(0);
  };
}

/**
 * Started ahead of time by the executor (node takes ~100 ms to start): say READY, wait for the
 * go line on stdin, then start attempt j at offsets[j] ms after it (wall clock: these run in real
 * namespaces). Gives up after 10 minutes whatever happens.
 */
export function startOnGo(offsets: readonly number[], start: (attempt: number) => void): void {
  setTimeout(() => process.exit(3), 600_000);
  process.stdout.write('READY\n');
  process.stdin.setEncoding('utf8');
  let go = '';
  process.stdin.on('data', (d: string) => {
    go += d;
    if (go.includes('\n')) {
      process.stdin.pause();
      const t0 = Date.now();
      offsets.forEach((off, j) => {
        const at = t0 + off;
        setTimeout(() => start(j), Math.max(0, at - Date.now()));
      });
    }
  });
  process.stdin.on('end', () => {
    if (!go.includes('\n')) process.exit(2);
  });
}

/** What resolving a probe's destination gave: the addresses in getaddrinfo's order, or its EAI_* error. */
export type Resolved = { readonly addresses: string[] } | { readonly gaiError: string };

/**
 * The destination of an attempt: `--dst` as given, or `--name` resolved with glibc's
 * getaddrinfo(AF_UNSPEC, no flags) — as curl or nc would, not as net.connect does (it adds
 * AI_ADDRCONFIG, which on an IPv4-only pod drops the AAAA query).
 */
export function resolveDestination(opts: ReadonlyMap<string, string>, done: (r: Resolved) => void): void {
  const name = opts.get('--name');
  if (name === undefined) {
    done({ addresses: [opts.get('--dst') ?? ''] });
    return;
  }
  dns.lookup(name, { family: 0, hints: 0, all: true, verbatim: true }, (err, addrs) => {
    if (err !== null) {
      const n = typeof err.errno === 'number' ? err.errno : undefined;
      done({ gaiError: n === undefined ? (err.code ?? err.message) : getSystemErrorName(n) });
      return;
    }
    done({ addresses: addrs.filter((a) => a.family === 4).map((a) => a.address) });
  });
}
