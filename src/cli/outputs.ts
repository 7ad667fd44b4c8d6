/**
 * Output files of the CLI (--pcap, --pcap-dir): every location is checked before the run starts,
 * so a path that cannot be written is bad input (exit 2, one line) and not an error after minutes
 * of simulation. Only the default `captures/` folder (and the one folder `--pcap-dir` names) is
 * created; parents the user named are never created. Temp files of this run are removed even
 * when a signal ends it, and those of runs that died earlier are removed at the next run.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  NAME_MAX,
  OutputPathError,
  TEMP_FILE_PATTERN,
  isOpenAs,
  osReason,
  outputTarget,
  safeOutputPath,
} from '../trace/byte-sink.js';
import type { CaptureFiles } from '../trace/capture-sink.js';
import { UsageError, outputLocation, reportOnStderr } from './common.js';

/** The folder a bare output file name goes to: the only folder podnet creates by itself. */
export const DEFAULT_OUTPUT_DIR = 'captures';

/** A checked output: the folder and name CaptureFiles gets. */
export interface PlannedOutput {
  readonly dir: string;
  readonly name: string;
}

/**
 * Checks a file output flag (`--pcap x`) before the run: the folder exists (only `captures/` is
 * created), is a folder and takes new files; the name fits NAME_MAX; an existing target is not a
 * folder, a dangling symlink or a socket. Throws UsageError (exit 2) naming the flag and the problem.
 */
export function planOutputFile(flag: string, arg: string): PlannedOutput {
  if (arg.endsWith('/')) throw new UsageError(`${flag}: "${arg}" names a folder; give a file name`);
  const { dir, name } = outputLocation(arg, DEFAULT_OUTPUT_DIR);
  const bytes = Buffer.byteLength(name);
  if (bytes > NAME_MAX)
    throw new UsageError(`${flag}: the file name is ${bytes} bytes, longer than the ${NAME_MAX} a file system allows`);
  if (dir === DEFAULT_OUTPUT_DIR) createOneFolder(flag, dir);
  const file = safeOutputPath(dir, name);
  // a device or FIFO is written in place: its folder (/dev, /proc/self/fd) need not take new files
  if (dir !== DEFAULT_OUTPUT_DIR && !checkTarget(flag, file)) checkFolder(flag, dir);
  // the capture is the output (`--pcap /dev/stdout | tshark -r -`): the report must not mix into it
  if (isOpenAs(file, 1)) reportOnStderr();
  return { dir, name };
}

/**
 * Checks an output folder flag (`--pcap-dir d`) before the run: creates `d` itself when missing
 * (one level, as `mkdir` does) but never its parents, and checks that it takes new files.
 */
export function planOutputDir(flag: string, dir: string): string {
  createOneFolder(flag, dir);
  return dir;
}

/**
 * The capture points a run offered, checked against its `--capture` patterns: each pattern must
 * select at least one point. Call once the network is built (simulate's onReady).
 */
export function checkCaptureFilter(files: CaptureFiles): void {
  const missing = files.unmatchedPatterns();
  if (missing.length === 0) return;
  const points = files.points;
  const shown = points.slice(0, 12).join(', ');
  const more = points.length > 12 ? `, … (${points.length} in all)` : '';
  const which = missing.map((p) => JSON.stringify(p)).join(', ');
  throw new UsageError(
    `--capture ${which} ${missing.length === 1 ? 'matches' : 'match'} no capture point; the points are ${shown}${more}`,
  );
}

function createOneFolder(flag: string, dir: string): void {
  try {
    // not recursive: parents are the user's to make (and Node 20's recursive mkdir spins under /proc)
    fs.mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !fs.existsSync(path.dirname(dir))) {
      throw new UsageError(`${flag}: cannot create folder ${dir}: folder ${path.dirname(dir)} does not exist`);
    }
    if (code !== 'EEXIST') throw new UsageError(`${flag}: cannot create folder ${dir}: ${osReason(e)}`);
  }
  checkFolder(flag, dir);
}

function checkFolder(flag: string, dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(
        `${flag}: folder ${dir} does not exist (podnet creates only ${DEFAULT_OUTPUT_DIR}/; make it first)`,
      );
    }
    if (code === 'ENOTDIR') throw new UsageError(`${flag}: ${dir}: a part of this path is a file, not a folder`);
    throw new UsageError(`${flag}: ${dir}: ${osReason(e)}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${flag}: ${dir} is not a folder`);
  // the one check that answers for every reason (read-only mount, permissions, /proc, a full inode
  // table): make a file there and remove it
  const probe = path.join(dir, `.podnet-${process.pid}-probe.tmp`);
  try {
    fs.closeSync(fs.openSync(probe, 'wx', 0o600));
    fs.rmSync(probe, { force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new UsageError(`${flag}: cannot write files in ${dir}: ${osReason(e)}`);
  }
  removeStaleTempFiles(dir);
  guardTempFiles(dir);
}

/** Checks an existing target; true when it is written in place (its folder is not written). */
function checkTarget(flag: string, file: string): boolean {
  let target: { mode: 'temp' | 'direct'; path: string };
  try {
    target = outputTarget(file);
  } catch (e) {
    throw new UsageError(`${flag}: ${e instanceof OutputPathError ? e.message : osReason(e)}`);
  }
  if (target.mode === 'direct') {
    try {
      fs.accessSync(target.path, fs.constants.W_OK);
    } catch (e) {
      throw new UsageError(`${flag}: cannot write ${file}: ${osReason(e)}`);
    }
    return true;
  }
  if (path.dirname(target.path) !== path.dirname(path.resolve(file))) {
    // a symlink to a file elsewhere: that file is replaced in its own folder
    checkFolder(flag, path.dirname(target.path));
  }
  return false;
}

/**
 * Removes temp files (`.podnet-<pid>-<n>.tmp`) that processes no longer running left in `dir`
 * (killed with SIGKILL, or the machine went down). A pid that is alive, or another user's, is left alone.
 */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    const m = TEMP_FILE_PATTERN.exec(n);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !(pid > 0)) continue;
    try {
      process.kill(pid, 0);
      continue; // alive
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue; // EPERM: alive, not ours
    }
    try {
      fs.rmSync(path.join(dir, n), { force: true });
      removed.push(n);
    } catch {
      // another run removed it first, or it is not ours to remove
    }
  }
  return removed;
}

// The run is one synchronous loop: a JavaScript signal handler would only run after it ends (so
// Ctrl-C would not stop it). Signals keep their default action (the shell sees 128 + signal) and a
// small watchdog process, told the folders, removes this process's temp files when its pipe from
// us closes: at our exit, whatever ended us (SIGKILL included).
const guarded = new Set<string>();
let watchdog: { stdin: NodeJS.WritableStream } | undefined;

const WATCHDOG = `
const fs = require('node:fs'), path = require('node:path');
const pid = process.argv[1];
const dirs = new Set(process.argv.slice(2));
const re = new RegExp('^\\\\.podnet-' + pid + '-\\\\d+\\\\.tmp$');
let done = false;
function clean() {
  if (done) return;
  done = true;
  for (const d of dirs) {
    let names = [];
    try { names = fs.readdirSync(d); } catch {}
    for (const n of names) if (re.test(n)) try { fs.rmSync(path.join(d, n), { force: true }); } catch {}
  }
  process.exit(0);
}
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  buf += c;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) { dirs.add(buf.slice(0, i)); buf = buf.slice(i + 1); }
});
process.stdin.on('end', clean);
process.stdin.on('close', clean);
process.stdin.on('error', clean);
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
`;

/** Makes sure this process's temp files in `dir` are removed when it ends, however it ends. */
function guardTempFiles(dir: string): void {
  const abs = path.resolve(dir);
  if (guarded.has(abs)) return;
  guarded.add(abs);
  if (watchdog !== undefined) {
    // folders after the first arrive before any temp file is opened: the write is done before the run
    watchdog.stdin.write(`${abs}\n`);
    return;
  }
  try {
    const child = spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), abs], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    child.on('error', () => undefined);
    child.unref();
    const stdin = child.stdin as NodeJS.WritableStream & { unref?: () => void };
    stdin.on('error', () => undefined);
    stdin.unref?.();
    watchdog = { stdin };
  } catch {
    // no watchdog (cannot spawn): stale temp files are still removed by the next run in this folder
  }
}
