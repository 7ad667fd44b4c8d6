import * as fs from 'node:fs';
import * as path from 'node:path';

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

/** Thrown when a (sanitized) output name would still resolve outside its folder. */
export class OutputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputPathError';
  }
}

const MAX_NAME_LENGTH = 200;
// Extensions longer than this are not worth preserving when a name is truncated.
const MAX_KEPT_EXTENSION = 16;

/**
 * Maps an untrusted file name (from a topology file) to a path directly inside `dir`; throws
 * OutputPathError if the result would not be a direct child of path.resolve(dir).
 */
export function safeOutputPath(dir: string, name: string): string {
  // One '_' per code point so a non-ASCII name keeps roughly its shape.
  let safe = name.replace(/[^A-Za-z0-9._:@+-]/gu, '_');
  if (safe.length > MAX_NAME_LENGTH) {
    // Keep the extension so a truncated "very-long….pcapng" still opens in Wireshark.
    const dot = safe.lastIndexOf('.');
    const ext = dot > 0 && safe.length - dot <= MAX_KEPT_EXTENSION ? safe.slice(dot) : '';
    safe = safe.slice(0, MAX_NAME_LENGTH - ext.length) + ext;
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

const FILE_BUFFER_SIZE = 64 * 1024;
// Distinguishes temp files of concurrent sinks within one process; pid separates processes.
let tempCounter = 0;

/**
 * ByteSink that writes to a hidden temp file beside the target and renames it into place on
 * commit, so readers never see a half-written capture.
 */
export class AtomicFileSink implements ByteSink {
  private fd: number | undefined;
  private readonly buf = new Uint8Array(FILE_BUFFER_SIZE);
  private used = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    /** Where the file will appear after commit(). */
    readonly finalPath: string,
    /** The hidden file being written until commit() or abort(). */
    readonly tempPath: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Creates `dir` if needed and opens a temp file for `fileName` (sanitized with safeOutputPath). */
  static open(dir: string, fileName: string): AtomicFileSink {
    const finalPath = safeOutputPath(dir, fileName);
    const folder = path.dirname(finalPath);
    fs.mkdirSync(folder, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const tempPath = path.join(folder, `.podnet-${process.pid}-${tempCounter++}.tmp`);
      try {
        // 'wx' so a stale temp file left by a crashed process with a recycled pid is never reused.
        const fd = fs.openSync(tempPath, 'wx', 0o644);
        return new AtomicFileSink(finalPath, tempPath, fd);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 1000) throw err;
      }
    }
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
        // Without fsync a crash soon after rename can leave an empty file under the final name.
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(this.tempPath, this.finalPath);
    } catch (err) {
      this.abort();
      throw err;
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
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already unusable; removing the file below is what matters.
      }
    }
    fs.rmSync(this.tempPath, { force: true });
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
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
  }
}

/** Writes `data` (strings as UTF-8) to `name` inside `dir` atomically; returns the final path. */
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
