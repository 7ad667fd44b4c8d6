import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

/**
 * Destination for encoded capture bytes. The chunk is only valid during the call: writers reuse
 * their scratch buffers, so an implementation must copy whatever it keeps.
 */
export interface ByteSink {
  write(chunk: Uint8Array): void;
}

/** ByteSink that keeps everything in memory (tests, small captures, in-browser use). */
export class MemorySink implements ByteSink {
  private buf = new Uint8Array(4096);
  private len = 0;

  /** Appends a copy of the chunk. */
  write(chunk: Uint8Array): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }

  /** Number of bytes collected so far. */
  get length(): number {
    return this.len;
  }

  /** A copy of everything written so far. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Thrown for an output that cannot be written: a name that would leave its folder, a missing folder, a write error. */
export class OutputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputPathError';
  }
}

/** Linux's NAME_MAX: the longest file name (one path component), in bytes. */
export const NAME_MAX = 255;
// Extensions longer than this are not worth preserving when a name is truncated.
const MAX_KEPT_EXTENSION = 16;

/**
 * Maps an untrusted file name (from a topology file) to a path directly inside `dir`; throws
 * OutputPathError if the result would not be a direct child of path.resolve(dir). A name longer
 * than NAME_MAX is cut and given a hash of the whole name, so two long names that differ only
 * past the cut stay two files.
 */
export function safeOutputPath(dir: string, name: string): string {
  // One '_' per code point so a non-ASCII name keeps roughly its shape (and the result is ASCII: chars are bytes).
  let safe = name.replace(/[^A-Za-z0-9._:@+-]/gu, '_');
  if (safe.length > NAME_MAX) {
    // Keep the extension so a truncated "very-long….pcapng" still opens in Wireshark.
    const dot = safe.lastIndexOf('.');
    const ext = dot > 0 && safe.length - dot <= MAX_KEPT_EXTENSION ? safe.slice(dot) : '';
    const tag = `-${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;
    safe = safe.slice(0, NAME_MAX - tag.length - ext.length) + tag + ext;
  }
  // After truncation, because joining head and extension can itself form "..".
  safe = safe.replace(/\.\./g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (safe.length === 0) safe = '_';
  const root = path.resolve(dir);
  const full = path.resolve(root, safe);
  const rel = path.relative(root, full);
  if (
    path.dirname(full) !== root ||
    rel.length === 0 ||
    rel === '.' ||
    rel === '..' ||
    rel.startsWith(`..${path.sep}`) ||
    path.isAbsolute(rel)
  ) {
    throw new OutputPathError(`output name ${JSON.stringify(name)} does not stay inside ${root}`);
  }
  return full;
}

/** An OS error as one line: "no space left on device (ENOSPC)". */
export function osReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string') return e instanceof Error ? e.message : String(e);
  // Node's message is "ENOSPC: no space left on device, write"; keep the words
  const m = /^[A-Z0-9]+: (.*?)(?:, \w+(?: '.*')?)?$/s.exec(err.message);
  return `${m?.[1] ?? err.message} (${err.code})`;
}

/** Temp files are named `.podnet-<pid>-<n>.tmp`; this matches them (group 1: the pid). */
export const TEMP_FILE_PATTERN = /^\.podnet-(\d+)-\d+\.tmp$/;

/**
 * Where bytes for `target` go: `temp` (a temp file beside a regular file, renamed over it),
 * or `direct` (an existing FIFO, character device or terminal, written in place: renaming over it
 * would replace the device node). A symlink is followed: its target is what gets replaced or
 * written, the link stays. Throws OutputPathError for a folder, a dangling symlink, a socket.
 */
export function outputTarget(target: string): { mode: 'temp' | 'direct'; path: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // a missing or non-folder parent: opening the temp file beside it says so
    if (code === 'ENOTDIR') return { mode: 'temp', path: target };
    if (code !== 'ENOENT') throw new OutputPathError(`${target}: ${osReason(e)}`);
    let link: fs.Stats | undefined;
    try {
      link = fs.lstatSync(target);
    } catch {
      return { mode: 'temp', path: target };
    }
    if (link.isSymbolicLink())
      throw new OutputPathError(`${target} is a dangling symlink (to ${fs.readlinkSync(target)})`);
    return { mode: 'temp', path: target };
  }
  if (st.isDirectory()) throw new OutputPathError(`${target} is a folder, not a file name`);
  // this process's own stdout or stderr, whatever it is (a socket under spawn()), is written through its descriptor
  if (!st.isFile() && isOwnOutput(st)) return { mode: 'direct', path: target };
  if (st.isSocket()) throw new OutputPathError(`${target} is a socket: podnet writes files, FIFOs and devices`);
  if (!st.isFile()) return { mode: 'direct', path: target };
  if (!fs.lstatSync(target).isSymbolicLink()) return { mode: 'temp', path: target };
  // a link to a regular file: the file it names is replaced (beside itself), the link keeps pointing at it;
  // /dev/stdout redirected to a file is the shell's open file: written in place, not replaced
  const real = fs.realpathSync(target);
  if (isOwnOutput(st)) return { mode: 'direct', path: target };
  return { mode: 'temp', path: real };
}

/** True when `file` is the file, pipe or terminal open as this process's descriptor `fd`. */
export function isOpenAs(file: string, fd: number): boolean {
  try {
    const a = fs.statSync(file);
    const b = fs.fstatSync(fd);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

function isOwnOutput(st: fs.Stats): boolean {
  for (const fd of [1, 2]) {
    try {
      const o = fs.fstatSync(fd);
      if (o.dev === st.dev && o.ino === st.ino) return true;
    } catch {
      // fd not open
    }
  }
  return false;
}

/**
 * `mkdir -p`, one level at a time from the root: Node 20's recursive mkdirSync never returns where
 * the kernel answers ENOENT for a folder whose parent exists (anything under /proc). Throws
 * OutputPathError naming the first level that cannot be made or is not a folder.
 */
export function makeFolders(dir: string): void {
  const full = path.resolve(dir);
  const parts: string[] = [];
  for (let p = full; ; p = path.dirname(p)) {
    parts.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of parts) {
    try {
      fs.mkdirSync(p);
      continue;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new OutputPathError(`cannot create folder ${p}: ${osReason(e)}`);
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      throw new OutputPathError(`${p}: ${osReason(e)}`);
    }
    if (!st.isDirectory()) throw new OutputPathError(`${p} is not a folder`);
  }
}

const FILE_BUFFER_SIZE = 64 * 1024;
// Distinguishes temp files of concurrent sinks within one process; pid separates processes.
let tempCounter = 0;

/**
 * ByteSink that writes to a hidden temp file beside the target and renames it into place on
 * commit, so readers never see a half-written capture. A target that exists and is not a regular
 * file (a FIFO, /dev/null, /dev/stdout) is written in place instead, never replaced.
 */
export class AtomicFileSink implements ByteSink {
  private fd: number | undefined;
  private readonly buf = new Uint8Array(FILE_BUFFER_SIZE);
  private used = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    /** Where the file will appear after commit(). */
    readonly finalPath: string,
    /** The hidden file being written until commit() or abort() (finalPath itself when written in place). */
    readonly tempPath: string,
    fd: number,
    /** The descriptor is the process's own (stdout): written, never closed. */
    private readonly borrowed = false,
  ) {
    this.fd = fd;
  }

  /** Creates `dir` if needed (makeFolders) and opens a temp file for `fileName` (sanitized with safeOutputPath). */
  static open(dir: string, fileName: string): AtomicFileSink {
    const finalPath = safeOutputPath(dir, fileName);
    makeFolders(path.dirname(finalPath));
    const { mode, path: target } = outputTarget(finalPath);
    if (mode === 'direct') {
      try {
        // our stdout: written through fd 1 (a socket cannot be opened by name), left open
        if (isOpenAs(target, 1)) return new AtomicFileSink(finalPath, finalPath, 1, true);
        return new AtomicFileSink(finalPath, finalPath, fs.openSync(target, 'w'));
      } catch (e) {
        throw new OutputPathError(`cannot write ${finalPath}: ${osReason(e)}`);
      }
    }
    const folder = path.dirname(target);
    for (let attempt = 0; ; attempt++) {
      const tempPath = path.join(folder, `.podnet-${process.pid}-${tempCounter++}.tmp`);
      try {
        // 'wx' so a stale temp file left by a crashed process with a recycled pid is never reused.
        const fd = fs.openSync(tempPath, 'wx', 0o644);
        return new AtomicFileSink(target, tempPath, fd);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' && attempt < 1000) continue;
        const why = code === 'ENOENT' ? `folder ${folder} does not exist` : osReason(err);
        throw new OutputPathError(`cannot write ${finalPath}: ${why}`);
      }
    }
  }

  /** True when the target is written in place (a device or FIFO), not through a temp file. */
  get inPlace(): boolean {
    return this.tempPath === this.finalPath;
  }

  /** Buffers the chunk (copied); large chunks go straight to the file. */
  write(chunk: Uint8Array): void {
    if (this.state !== 'open') throw new Error(`AtomicFileSink: write after ${this.state} (${this.finalPath})`);
    if (this.used + chunk.length <= this.buf.length) {
      this.buf.set(chunk, this.used);
      this.used += chunk.length;
      return;
    }
    this.flush();
    if (chunk.length >= this.buf.length) {
      this.writeAll(chunk);
    } else {
      this.buf.set(chunk, 0);
      this.used = chunk.length;
    }
  }

  /**
   * Flushes, closes and renames the temp file to its final path, which it returns; repeat calls return the same path.
   */
  commit(): string {
    if (this.state === 'committed') return this.finalPath;
    if (this.state === 'aborted') throw new Error(`AtomicFileSink: commit after abort (${this.finalPath})`);
    try {
      this.flush();
      const fd = this.takeFd();
      try {
        // Without fsync a crash soon after rename can leave an empty file under the final name
        // (a pipe or a terminal cannot be synced, and needs not be).
        if (!this.inPlace) fs.fsyncSync(fd);
      } finally {
        if (!this.borrowed) fs.closeSync(fd);
      }
      if (!this.inPlace) fs.renameSync(this.tempPath, this.finalPath);
    } catch (err) {
      this.abort();
      throw err instanceof OutputPathError
        ? err
        : new OutputPathError(`cannot write ${this.finalPath}: ${osReason(err)}`);
    }
    this.state = 'committed';
    return this.finalPath;
  }

  /** Closes and deletes the temp file; a no-op after commit() or a previous abort(). */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.used = 0;
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined && !this.borrowed) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already unusable; removing the file below is what matters.
      }
    }
    if (!this.inPlace) fs.rmSync(this.tempPath, { force: true });
  }

  private takeFd(): number {
    const fd = this.fd;
    if (fd === undefined) throw new Error('AtomicFileSink: file already closed');
    this.fd = undefined;
    return fd;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private writeAll(data: Uint8Array): void {
    const fd = this.fd;
    if (fd === undefined) throw new Error('AtomicFileSink: file already closed');
    let off = 0;
    try {
      while (off < data.length) {
        try {
          off += fs.writeSync(fd, data, off, data.length - off);
        } catch (e) {
          // a non-blocking stdout (a socket from spawn()) that is full: wait for the reader
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        }
      }
    } catch (e) {
      // ENOSPC, EIO, EPIPE: the file is incomplete, so it goes (the caller's abort() would too)
      this.abort();
      throw new OutputPathError(`cannot write ${this.finalPath}: ${osReason(e)}`);
    }
  }
}

/** Writes `data` (strings as UTF-8) to `name` inside `dir` (created if needed) atomically; returns the final path. */
export function writeFileAtomic(dir: string, name: string, data: string | Uint8Array): string {
  const sink = AtomicFileSink.open(dir, name);
  try {
    sink.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    return sink.commit();
  } catch (err) {
    sink.abort();
    throw err;
  }
}
