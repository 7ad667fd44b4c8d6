/**
 * The host side of the kernel suite: can this machine build network namespaces, running
 * bounded commands, and the Janitor that owns every namespace and process a run creates and
 * removes them on every exit path (normal end, error, SIGINT/SIGTERM, process exit).
 *
 * Safety rules enforced here: only namespaces carrying this run's prefix are created or
 * deleted; only processes this run started are signalled (by PID), then whatever is still
 * inside this run's own namespaces (`ip netns pids`, necessarily started there by us); every
 * command and every wait has a time limit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ANY_RUN_NS } from './plan.js';

/** A finished command. */
export interface CommandResult {
  readonly status: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Raised when a planned command fails. */
export class KernelCommandError extends Error {
  override readonly name = 'KernelCommandError';
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
    why: string,
  ) {
    super(
      `${why}: \`${argv.join(' ')}\` ${result.timedOut ? 'timed out' : `exited ${result.status ?? result.signal}`}` +
        (result.stderr.trim() ? `: ${result.stderr.trim().split('\n')[0]}` : ''),
    );
  }
}

/** Runs a short command synchronously with a time limit (default 15 s). */
export function runSync(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): CommandResult {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 15_000,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
  });
  const timedOut = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error !== undefined && !timedOut ? String(r.error.message) : ''),
    timedOut,
  };
}

/** Sleeps synchronously (used only on cleanup paths, where the event loop may not run again). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/** The PIDs among `pids` that are running (a zombie not yet reaped counts as gone). */
function aliveOf(pids: readonly number[]): number[] {
  if (pids.length === 0) return [];
  const r = spawnSync('ps', ['-o', 'pid=,stat=', '-p', pids.join(',')], { encoding: 'utf8', timeout: 5000 });
  const out: number[] = [];
  for (const line of (r.stdout ?? '').split('\n')) {
    const [pid, stat] = line.trim().split(/\s+/);
    if (pid !== undefined && /^\d+$/.test(pid) && stat !== undefined && !stat.startsWith('Z')) out.push(Number(pid));
  }
  return out;
}

function alive(pid: number): boolean {
  return aliveOf([pid]).length > 0;
}

/** Names of the namespaces on this machine (`ip netns list`). */
export function listNamespaces(): string[] {
  const r = runSync(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** PIDs of processes inside a namespace (`ip netns pids`). */
export function namespacePids(ns: string): number[] {
  const r = runSync(['ip', 'netns', 'pids', ns], { timeoutMs: 10_000 });
  if (r.status !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number);
}

/**
 * Why this machine cannot run the kernel suite, or undefined when it can. Checks: Linux, root,
 * the tools (ip, bridge, sysctl, tcpdump, ping, ps), that `ip netns add` works, and that a fresh
 * namespace has the br_netfilter, IPv6 and TCP sysctls the topology sets (Linux ≥ 6.7).
 */
export function kernelUnavailable(probeNs: string): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'not root: creating network namespaces needs root (run with sudo)';
  const tools: Array<[string, string[], string]> = [
    ['ip', ['-V'], 'iproute2'],
    ['bridge', ['-V'], 'iproute2'],
    ['sysctl', ['-V'], 'procps'],
    ['tcpdump', ['--version'], 'tcpdump'],
    ['ping', ['-V'], 'iputils-ping'],
    ['ps', ['-V'], 'procps'],
  ];
  const missing = tools.filter(([cmd, args]) => runSync([cmd, ...args], { timeoutMs: 5000 }).status !== 0);
  if (missing.length > 0)
    return `missing ${missing.map(([c]) => c).join(', ')} (apt-get install -y ${[...new Set(missing.map(([, , p]) => p))].join(' ')})`;
  const add = runSync(['ip', 'netns', 'add', probeNs], { timeoutMs: 10_000 });
  if (add.status !== 0) return `\`ip netns add\` failed: ${add.stderr.trim().split('\n')[0] ?? `exit ${add.status}`}`;
  try {
    const sys = runSync(
      [
        'ip',
        'netns',
        'exec',
        probeNs,
        'sysctl',
        '-n',
        'net.bridge.bridge-nf-call-iptables',
        'net.ipv6.conf.all.disable_ipv6',
      ],
      { timeoutMs: 10_000 },
    );
    if (sys.status !== 0)
      return `a fresh namespace lacks net.bridge.bridge-nf-call-iptables or IPv6 sysctls (br_netfilter not loaded? \`modprobe br_netfilter\`): ${sys.stderr.trim().split('\n')[0] ?? ''}`;
    // podnet's TCP retransmits SYNs as Linux ≥ 6.7 does (tcp_syn_linear_timeouts); an older kernel would differ on
    // every lost SYN
    const linear = runSync(['ip', 'netns', 'exec', probeNs, 'sysctl', '-n', 'net.ipv4.tcp_syn_linear_timeouts'], {
      timeoutMs: 10_000,
    });
    if (linear.status !== 0)
      return 'this kernel has no net.ipv4.tcp_syn_linear_timeouts (Linux < 6.7): podnet emulates the SYN retransmission timing of Linux ≥ 6.7, so the comparison would not be fair here';
  } finally {
    runSync(['ip', 'netns', 'delete', probeNs], { timeoutMs: 10_000 });
  }
  return undefined;
}

/** Namespaces left by earlier runs (`pnk<pid>-*`), with whether their run's process still lives. */
export function staleRunNamespaces(ownPrefix: string): Array<{ name: string; pid: number; running: boolean }> {
  const out: Array<{ name: string; pid: number; running: boolean }> = [];
  for (const name of listNamespaces()) {
    const m = ANY_RUN_NS.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const running = !name.startsWith(ownPrefix) && pid !== process.pid && alive(pid) && isPodnetProcess(pid);
    out.push({ name, pid, running });
  }
  return out;
}

function isPodnetProcess(pid: number): boolean {
  const r = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 });
  return /node|vitest|podnet/.test(r.stdout ?? '');
}

/**
 * Removes stale namespaces of runs whose process is gone: kills what runs inside them (only
 * processes in those namespaces), then deletes them. Returns what it removed and what it left.
 */
export function precleanStale(ownPrefix: string): { removed: string[]; kept: string[] } {
  const removed: string[] = [];
  const kept: string[] = [];
  for (const s of staleRunNamespaces(ownPrefix)) {
    if (s.running) {
      kept.push(`${s.name} (its run, pid ${s.pid}, is still going)`);
      continue;
    }
    for (const p of namespacePids(s.name)) killQuietly(p, 'SIGKILL');
    const r = runSync(['ip', 'netns', 'delete', s.name], { timeoutMs: 10_000 });
    if (r.status === 0) removed.push(s.name);
    else kept.push(`${s.name} (${r.stderr.trim()})`);
  }
  return { removed, kept };
}

/** Where `ip netns exec <ns>` finds the files it bind-mounts over /etc. */
export const ETC_NETNS = '/etc/netns';

/** The only files a run writes under /etc/netns/<ns>/. */
const ETC_FILES = new Set(['resolv.conf', 'hosts', 'nsswitch.conf']);

/** Removes /etc/netns/<ns> folders of runs whose process is gone (a run killed with SIGKILL leaves them). */
export function precleanStaleEtc(ownPrefix: string): string[] {
  const removed: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(ETC_NETNS);
  } catch {
    return removed;
  }
  for (const name of entries) {
    const m = ANY_RUN_NS.exec(name);
    if (!m || name.startsWith(ownPrefix)) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || (alive(pid) && isPodnetProcess(pid))) continue;
    rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
    removed.push(join(ETC_NETNS, name));
  }
  return removed;
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** What cleanup did. */
export interface CleanupSummary {
  readonly processesStopped: number;
  readonly strayProcessesKilled: number;
  readonly namespacesDeleted: number;
  /** Namespaces of this run still present afterwards (should be empty). */
  readonly leftover: readonly string[];
}

/**
 * Owns everything a run creates. `cleanup()` is synchronous and idempotent so that signal
 * handlers and the process 'exit' hook can call it.
 */
export class Janitor {
  private readonly namespaces: string[] = [];
  private readonly dirs: string[] = [];
  private readonly etcDirs: string[] = [];
  private madeEtcNetns = false;
  private readonly children = new Map<number, { child: ChildProcess; what: string }>();
  private cleaned: CleanupSummary | undefined;
  private handlers: Array<[string, (...a: unknown[]) => void]> = [];

  constructor(readonly prefix: string) {
    if (!/^pnk\d+-$/.test(prefix)) throw new Error(`bad prefix ${prefix}`);
  }

  /** Creates a namespace of this run (`ip netns add`). */
  addNamespace(name: string): void {
    if (!name.startsWith(this.prefix))
      throw new Error(`refusing to create namespace ${name}: not under ${this.prefix}`);
    if (this.cleaned) throw new Error('run already cleaned up');
    const r = runSync(['ip', 'netns', 'add', name], { timeoutMs: 10_000 });
    if (r.status !== 0) throw new KernelCommandError(['ip', 'netns', 'add', name], r, 'creating a namespace');
    this.namespaces.push(name);
  }

  /**
   * Writes /etc/netns/<ns>/<file> for a namespace of this run (`ip netns exec` bind-mounts them
   * over /etc: glibc in that namespace reads this resolv.conf). Removed on cleanup.
   */
  writeEtcFiles(ns: string, files: Readonly<Record<string, string>>): void {
    if (!ns.startsWith(this.prefix) || !/^[A-Za-z0-9_.-]+$/.test(ns))
      throw new Error(`refusing to write /etc/netns files for ${ns}: not one of this run's namespaces`);
    if (this.cleaned) throw new Error('run already cleaned up');
    if (!existsSync(ETC_NETNS)) {
      mkdirSync(ETC_NETNS, { mode: 0o755 });
      this.madeEtcNetns = true;
    }
    const dir = join(ETC_NETNS, ns);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (!this.etcDirs.includes(dir)) this.etcDirs.push(dir);
    for (const [name, content] of Object.entries(files)) {
      if (!ETC_FILES.has(name))
        throw new Error(`refusing to write /etc/netns/${ns}/${name}: only ${[...ETC_FILES].join(', ')}`);
      writeFileSync(join(dir, name), content, { mode: 0o644 });
    }
  }

  /** A scratch folder of this run (made with mkdtemp) to delete on cleanup. */
  removeDirOnCleanup(dir: string): void {
    this.dirs.push(dir);
  }

  /** Namespaces created so far. */
  get created(): readonly string[] {
    return this.namespaces;
  }

  /** Starts a process and owns it until it exits. */
  spawn(
    argv: readonly string[],
    what: string,
    opts: { stdin?: 'pipe' | 'ignore'; stdout?: 'pipe' | 'ignore'; stderr?: 'pipe' | 'ignore' } = {},
  ): ChildProcess {
    if (this.cleaned) throw new Error('run already cleaned up');
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'pipe', opts.stderr ?? 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`could not start ${what} (${argv[0]})`);
    const pid = child.pid;
    this.children.set(pid, { child, what });
    child.once('exit', () => this.children.delete(pid));
    child.once('error', () => this.children.delete(pid));
    return child;
  }

  /** Processes still running. */
  get running(): number {
    return this.children.size;
  }

  /** SIGINT/SIGTERM/SIGHUP: clean up, then exit with 128 + signal; 'exit': clean up whatever is left. */
  installSignalHandlers(onSignal?: (sig: string) => void): void {
    const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    for (const sig of Object.keys(codes)) {
      const h = (): void => {
        onSignal?.(sig);
        this.cleanup();
        process.exit(codes[sig]!);
      };
      process.on(sig as NodeJS.Signals, h);
      this.handlers.push([sig, h]);
    }
    const onExit = (): void => {
      this.cleanup();
    };
    process.on('exit', onExit);
    this.handlers.push(['exit', onExit]);
  }

  /** Removes the handlers installed by installSignalHandlers. */
  removeSignalHandlers(): void {
    for (const [ev, h] of this.handlers) process.removeListener(ev, h);
    this.handlers = [];
  }

  /**
   * Stops every process this run started (SIGTERM, up to 3 s, then SIGKILL), kills anything
   * still inside this run's namespaces, deletes the namespaces (newest first) and the run's
   * scratch folders (unless `keepDirs`: a later call removes them), and checks that no
   * namespace is left. Synchronous and idempotent.
   */
  cleanup(opts: { keepDirs?: boolean } = {}): CleanupSummary {
    const summary = this.cleaned ?? this.stopAndDelete();
    // folders last: a capture still running would otherwise write into a half-deleted folder
    if (!opts.keepDirs)
      for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    return summary;
  }

  private stopAndDelete(): CleanupSummary {
    const pids = [...this.children.keys()];
    for (const pid of pids) killQuietly(pid, 'SIGTERM');
    for (let i = 0; i < 60 && aliveOf(pids).length > 0; i++) sleepSync(50);
    for (const pid of aliveOf(pids)) killQuietly(pid, 'SIGKILL');
    let stray = 0;
    for (const ns of this.namespaces) {
      for (const p of namespacePids(ns)) {
        killQuietly(p, 'SIGKILL');
        stray++;
      }
    }
    if (stray > 0) sleepSync(100);
    let deleted = 0;
    for (const ns of [...this.namespaces].reverse()) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = runSync(['ip', 'netns', 'delete', ns], { timeoutMs: 10_000 });
        if (r.status === 0) {
          deleted++;
          break;
        }
        sleepSync(100);
      }
    }
    for (const d of this.etcDirs.splice(0)) rmSync(d, { recursive: true, force: true });
    if (this.madeEtcNetns) {
      try {
        rmdirSync(ETC_NETNS); // only when empty: another run's files stay
      } catch {
        /* not empty */
      }
    }
    const leftover = listNamespaces().filter((n) => n.startsWith(this.prefix));
    this.cleaned = { processesStopped: pids.length, strayProcessesKilled: stray, namespacesDeleted: deleted, leftover };
    this.children.clear();
    return this.cleaned;
  }
}
