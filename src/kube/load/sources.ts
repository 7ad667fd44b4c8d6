/**
 * Reading topology sources from disk: a file, or every *.yaml / *.yml / *.json under a folder
 * (recursively, in path order); unreadable files are errors of the load. JSON files are what
 * support bundles and `kubectl cluster-info dump --output-directory` write (`nodes.json`,
 * `<namespace>/pods.json`, … one List per file); the pod logs such a dump writes next to them
 * (`<namespace>/<pod>/logs.txt`) and any other file are not manifests and are skipped.
 */
import { readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosticSink } from './diagnostics.js';

/** One file's text. */
export interface Source {
  readonly file: string;
  readonly text: string;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

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
  for (const file of files) {
    try {
      sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch (e) {
      ioError(file, e);
    }
  }
  return { sources, files };
}
