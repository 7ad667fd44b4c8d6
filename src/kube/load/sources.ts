/**
 * Reading topology sources from disk: a file, or every *.yaml / *.yml / *.json under a folder
 * (recursively, in path order); unreadable files are errors of the load. JSON files are what
 * support bundles and `kubectl cluster-info dump --output-directory` write (`nodes.json`,
 * `<namespace>/pods.json`, … one List per file); the pod logs such a dump writes next to them
 * (`<namespace>/<pod>/logs.txt`) and any other file are not manifests and are skipped.
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosticSink } from './diagnostics.js';

/** One file's text. */
export interface Source {
  readonly file: string;
  readonly text: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/**
 * The most input podnet reads in one run, all files together (and any one iptables-save dump):
 * 256 MiB, 2.5 times the 103 MB export of the 5,000-node benchmark cluster, which peaks at 2 GiB.
 * A pipe or device (/dev/stdin, a FIFO, /dev/zero) is read up to it and no further.
 */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** Input over a limit: the message names the limit. */
export class InputLimitError extends Error {
  override readonly name = 'InputLimitError';
}

/** "256 MiB" */
export function formatBytes(n: number): string {
  return n >= 1024 * 1024 && n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}

/**
 * Reads a file as UTF-8, at most `limit` bytes: a regular file larger than that is refused before
 * it is read, anything else (a pipe, /dev/zero) is read in chunks until it ends or passes the
 * limit. Throws InputLimitError past the limit, the fs error when it cannot be read.
 */
export function readInputText(file: string, limit = MAX_INPUT_BYTES): string {
  const over = (): InputLimitError =>
    new InputLimitError(`more than ${formatBytes(limit)}, the most input podnet reads (README "Limits")`);
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isFile()) {
      if (st.size > limit) throw over();
      const buf = readFileSync(fd);
      if (buf.length > limit) throw over();
      return buf.toString('utf8');
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        // a non-blocking pipe with nothing yet: wait for it rather than spin
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw e;
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw over();
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Reads a file, or every *.yaml / *.yml / *.json under a folder (recursively, sorted by path). */
export function readSources(path: string, sink: DiagnosticSink): { sources: Source[]; files: string[] } {
  const ioError = (file: string, e: unknown): void => {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
    const reason =
      code === 'ENOENT'
        ? 'no such file or directory'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : e instanceof Error
              ? e.message
              : String(e);
    sink.add({
      severity: 'error',
      file,
      line: 0,
      col: 0,
      object: undefined,
      path: undefined,
      message: `cannot read: ${reason}`,
    });
  };
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    ioError(path, e);
    return { sources: [], files: [] };
  }
  const files: string[] = [];
  if (isDir) {
    const seen = new Set<string>();
    const walk = (dir: string): void => {
      let real: string;
      try {
        real = realpathSync(dir);
      } catch (e) {
        ioError(dir, e);
        return;
      }
      if (seen.has(real)) return;
      seen.add(real);
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch (e) {
        ioError(dir, e);
        return;
      }
      for (const name of entries) {
        const full = join(dir, name);
        let st: Stats;
        try {
          st = statSync(full);
        } catch (e) {
          if (MANIFEST_FILE.test(name)) ioError(full, e);
          continue;
        }
        if (st.isDirectory()) walk(full);
        else if (st.isFile() && MANIFEST_FILE.test(name)) files.push(full);
      }
    };
    walk(path);
    files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (files.length === 0) {
      sink.add({
        severity: 'error',
        file: path,
        line: 0,
        col: 0,
        object: undefined,
        path: undefined,
        message: 'no *.yaml, *.yml or *.json files in this folder',
      });
    }
  } else files.push(path);
  const sources: Source[] = [];
  let read = 0;
  for (const file of files) {
    try {
      // the limit is for all files together: each may use what the ones before left
      const text = readInputText(file, MAX_INPUT_BYTES - read);
      read += Buffer.byteLength(text, 'utf8');
      sources.push({ file, text });
    } catch (e) {
      if (!(e instanceof InputLimitError)) {
        ioError(file, e);
        continue;
      }
      const before = read > 0 ? ` (the files before it hold ${Math.ceil(read / (1024 * 1024))} MiB)` : '';
      sink.add({
        severity: 'error',
        file,
        line: 0,
        col: 0,
        object: undefined,
        path: undefined,
        message: `cannot read: the input passes ${formatBytes(MAX_INPUT_BYTES)}, the most podnet reads in one run${before} (README "Limits")`,
      });
      break;
    }
  }
  return { sources, files };
}
