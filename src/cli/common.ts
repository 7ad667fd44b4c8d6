/**
 * Shared CLI plumbing: loading topologies with readable diagnostics, exit codes, safe output
 * to pipes, and output paths.
 */
import { basename, dirname, isAbsolute, join } from 'node:path';
import { BufferedLineWriter } from '../trace/line-writer.js';
import { safeLine } from '../wire/text.js';
import { formatDiagnostic, loadDefaultTopology, loadTopologyPath } from '../kube/load/index.js';
import type { LoadResult, ValidationMode } from '../kube/load/index.js';
import type { ClusterModel } from '../kube/model.js';
import { DEFAULT_TOPOLOGY_NAME } from '../kube/default-topology.js';

/** Exit codes: 0 ok, 1 a check failed or nothing answered, 2 bad input (topology, flags, references), 70 a bug. */
export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

/** An error the user can fix; printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

let stdoutClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // a closed pipe (`podnet trace | head`) is not an error worth a stack trace
  if (e.code === 'EPIPE') {
    stdoutClosed = true;
    process.exit(0);
  }
  throw e;
});

// a terminal gets each line at once; a pipe or file gets 64 KiB writes (a hop trace of a long run
// is millions of lines); stdout writes are synchronous on Linux, so the 'exit' flush completes
const stdoutLines =
  process.stdout.isTTY === true ? null : new BufferedLineWriter((chunk) => process.stdout.write(chunk));
process.on('exit', () => flushOut());

let flushQueued = false;

let textOnStderr = false;

/** Sends the text report to stderr from now on: stdout carries a capture (`--pcap /dev/stdout`, as tcpdump -w -). */
export function reportOnStderr(): void {
  textOnStderr = true;
}

/** Writes a line to stdout (no-op after the reader went away), or to stderr once stdout carries a capture. */
export function out(line: string): void {
  if (textOnStderr) {
    process.stderr.write(`${line}\n`);
    return;
  }
  if (stdoutClosed) return;
  if (stdoutLines === null) {
    process.stdout.write(`${line}\n`);
    return;
  }
  stdoutLines.line(line);
  // and as soon as the program waits (kernel runs, timers): lines never sit in the buffer idle
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      flushOut();
    });
  }
}

/** Writes out stdout lines still buffered. */
export function flushOut(): void {
  if (!stdoutClosed) stdoutLines?.flush();
}

/**
 * Writes a line to stderr (after the stdout lines before it, so `2>&1` keeps their order). Names
 * from input reach these messages: control characters are escaped and a runaway line is cut.
 */
export function err(line: string): void {
  flushOut();
  process.stderr.write(`${safeLine(line)}\n`);
}

/**
 * Loads a topology path (or the built-in default), printing notices to stderr; throws UsageError
 * listing every error. `seed` (the --seed) also draws generated pod names and scheduling ties.
 */
export function loadModel(
  path: string | undefined,
  quiet = false,
  seed = 1,
  validate?: ValidationMode,
): { model: ClusterModel; result: LoadResult; name: string } {
  const result = path === undefined ? loadDefaultTopology(seed, validate) : loadTopologyPath(path, seed, validate);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (!quiet) for (const d of result.diagnostics.filter((x) => x.severity === 'notice')) err(formatDiagnostic(d));
  if (result.model === undefined || errors.length > 0) {
    throw new UsageError(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in ${path ?? DEFAULT_TOPOLOGY_NAME}`,
      errors.map(formatDiagnostic),
    );
  }
  return { model: result.model, result, name: path ?? DEFAULT_TOPOLOGY_NAME };
}

/**
 * Splits an output file argument into folder and name: a bare name goes under the default
 * captures folder; a path with a folder is used as given (the folder the user chose).
 */
export function outputLocation(arg: string, defaultDir: string): { dir: string; name: string } {
  if (arg.includes('/') || isAbsolute(arg)) return { dir: dirname(arg), name: basename(arg) };
  return { dir: join(defaultDir), name: arg };
}

/**
 * The --validate option of every command that loads a topology, as kubectl apply offers it: unknown fields of
 * Kubernetes kinds are errors (strict, the default; kubectl's `true`), notices (warn) or not looked for
 * (ignore; kubectl's `false`). podnet's own kinds are always strict.
 */
export const VALIDATE_OPTION = {
  type: 'string',
  choices: ['strict', 'warn', 'ignore', 'true', 'false'],
  default: 'strict',
  describe: 'Unknown fields of Kubernetes kinds: strict (error), warn (notice) or ignore, as kubectl apply --validate',
} as const;

/** The load mode of a --validate value (kubectl's `true` and `false` are strict and ignore). */
export function validateMode(v: string | undefined): ValidationMode {
  if (v === 'warn' || v === 'ignore') return v;
  return v === 'false' ? 'ignore' : 'strict';
}

/** Parses a seed flag: an unsigned 32-bit integer, or `random` (drawn here, at the CLI's edge). */
export function parseSeed(v: unknown): number {
  if (v === undefined) return 1;
  if (v === 'random') return (Math.random() * 0x1_0000_0000) >>> 0;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new UsageError(`--seed: expected an integer 0–4294967295 or "random", got ${JSON.stringify(v)}`);
  return n;
}
