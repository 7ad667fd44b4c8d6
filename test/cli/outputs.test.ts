/**
 * Output files of the CLI (issue 15): every location checked before the run (exit 2, one line),
 * no folder created but captures/, no hang under /proc, devices and FIFOs never replaced, temp
 * files removed on signals and at the next run, derived names never colliding, write errors
 * naming the file.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCounterexample, scenarioArb } from '../../src/testing/index.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');
const TOPOLOGY = join(process.cwd(), 'topologies', 'pod-to-pod.yaml');
const root = fs.mkdtempSync(join(tmpdir(), 'podnet-outputs-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
function freshDir(): string {
  const d = join(root, `t${n++}`);
  fs.mkdirSync(d);
  return d;
}

function podnet(args: string[], cwd = process.cwd()): { code: number; stdout: string; stderr: string } {
  // the timeout only stops a hang from blocking the suite; a killed run has no status and fails the test
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, input: '', timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 with one line on stderr, before the run printed anything. */
function refusedBeforeRun(r: { code: number; stdout: string; stderr: string }, words: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(words);
  expect(r.stderr).not.toContain('internal error');
}

/** A topology whose Scenario runs for seconds (100,000 pings), for interrupting it. */
function longTopology(dir: string): string {
  const base = fs.readFileSync(TOPOLOGY, 'utf8').replace(/kind: Scenario[\s\S]*$/, '');
  const file = join(dir, 'long.yaml');
  fs.writeFileSync(
    file,
    `${base}kind: Scenario\nmetadata:\n  name: long\nspec:\n  probes:\n    - name: many\n      from: client\n` +
      '      to: pod/web-1\n      protocol: icmp\n      count: 100000\n      interval: 1ms\n',
  );
  return file;
}

function temps(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => /^\.podnet-\d+-\d+\.tmp$/.test(f));
}

function waitFor(cond: () => boolean, ms: number): boolean {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  return cond();
}

describe.skipIf(!fs.existsSync(CLI))('output locations are checked before the run', () => {
  test('a missing parent folder is an error, and is not created', () => {
    const d = freshDir();
    const r = podnet(['trace', '--pcap', join(d, 'no', 'such', 'x.pcapng')]);
    refusedBeforeRun(r, /--pcap: folder .*no\/such does not exist/);
    expect(fs.existsSync(join(d, 'no'))).toBe(false);
  });

  test('a folder given as the file, a file where a folder should be, a name over 255 bytes', () => {
    const d = freshDir();
    refusedBeforeRun(podnet(['trace', '--pcap', d]), /is a folder, not a file name/);
    const file = join(d, 'plain');
    fs.writeFileSync(file, 'x');
    refusedBeforeRun(podnet(['run', '--pcap-dir', file]), /--pcap-dir: .*plain is not a folder/);
    refusedBeforeRun(podnet(['trace', '--pcap', join(file, 'x.pcapng')]), /plain is not a folder/);
    refusedBeforeRun(podnet(['trace', '--pcap', join(d, `${'é'.repeat(130)}.pcapng`)]), /267 bytes.*255/);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  test('a dangling symlink is refused and left as it is', () => {
    const d = freshDir();
    fs.symlinkSync(join(d, 'gone', 'x.pcapng'), join(d, 'link.pcapng'));
    refusedBeforeRun(podnet(['trace', '--pcap', join(d, 'link.pcapng')]), /link\.pcapng is a dangling symlink/);
    expect(fs.lstatSync(join(d, 'link.pcapng')).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(join(d, 'gone'))).toBe(false);
  });

  test('a folder that takes no files (a read-only one, or /proc) is refused before the run', () => {
    // chmod does not stop root; /proc refuses new files to everyone
    refusedBeforeRun(podnet(['trace', '--pcap', '/proc/x.pcapng']), /--pcap: cannot write files in \/proc/);
    if (process.getuid?.() === 0) return; // the chmod case needs a user the mode applies to
    const d = freshDir();
    fs.chmodSync(d, 0o555);
    refusedBeforeRun(podnet(['trace', '--pcap', join(d, 'x.pcapng')]), /cannot write files in .*permission denied/);
  });

  test('captures/ is the one folder created: a bare name goes there', () => {
    const d = freshDir();
    const r = podnet(['trace', '--pcap', 'x.pcapng'], d);
    expect(r.code).toBe(0);
    expect(fs.statSync(join(d, 'captures', 'x.pcapng')).size).toBeGreaterThan(0);
    // --pcap-dir makes the folder it names (one level, as mkdir), never its parents
    refusedBeforeRun(
      podnet(['run', '--pcap-dir', join(d, 'a', 'b')]),
      /cannot create folder .*a\/b: folder .*a does not exist/,
    );
    expect(fs.existsSync(join(d, 'a'))).toBe(false);
  });
});

describe.skipIf(!fs.existsSync(CLI))('no hang under /proc (Node 20 recursive mkdir)', () => {
  test('run --pcap-dir /proc/nope is an error', { timeout: 60_000 }, () => {
    refusedBeforeRun(podnet(['run', '--pcap-dir', '/proc/nope']), /--pcap-dir: cannot create folder \/proc\/nope/);
  });
  test('trace --pcap /proc/self/nope/x.pcapng is an error', { timeout: 60_000 }, () => {
    refusedBeforeRun(podnet(['trace', '--pcap', '/proc/self/nope/x.pcapng']), /folder \/proc\/self\/nope does not/);
  });
  test('dig --pcap /proc/nope/x.pcapng is an error', { timeout: 60_000 }, () => {
    refusedBeforeRun(podnet(['dig', 'kubernetes.default', '--pcap', '/proc/nope/x.pcapng']), /\/proc\/nope/);
  });
});

describe.skipIf(!fs.existsSync(CLI))('verify --out is checked before namespaces are made', () => {
  test('verify --kernel --out /proc/nope is an error', { timeout: 60_000 }, () => {
    refusedBeforeRun(
      podnet(['verify', TOPOLOGY, '--kernel', '--out', '/proc/nope']),
      /--out: cannot create folder \/proc\/nope/,
    );
  });
});

describe('findCounterexample with an outDir under /proc', () => {
  test('throws instead of spinning', { timeout: 60_000 }, () => {
    expect(() => findCounterexample(scenarioArb(), () => false, { outDir: '/proc/nope', numRuns: 1 })).toThrow(
      /cannot create folder \/proc\/nope/,
    );
  });
});

describe.skipIf(!fs.existsSync(CLI))('outputs that are not regular files are written in place, never replaced', () => {
  test('a symlink to /dev/null stays a symlink and /dev/null a device', () => {
    const d = freshDir();
    fs.symlinkSync('/dev/null', join(d, 'null.pcapng'));
    const r = podnet(['trace', '--pcap', join(d, 'null.pcapng')]);
    expect(r.code).toBe(0);
    expect(fs.lstatSync(join(d, 'null.pcapng')).isSymbolicLink()).toBe(true);
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(temps(d)).toEqual([]);
  });

  test('a FIFO gets the pcapng stream and stays a FIFO', async () => {
    const d = freshDir();
    const fifo = join(d, 'pipe.pcapng');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    const reader = spawn('sh', ['-c', `cat "${fifo}" > "${join(d, 'got')}"`]);
    const done = new Promise<void>((res) => reader.on('exit', () => res()));
    try {
      const r = podnet(['trace', '--pcap', fifo]);
      expect(r.code).toBe(0);
      expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
      await done;
      // a pcapng Section Header Block starts 0a 0d 0d 0a
      expect([...fs.readFileSync(join(d, 'got')).subarray(0, 4)]).toEqual([0x0a, 0x0d, 0x0d, 0x0a]);
    } finally {
      reader.kill();
    }
  });

  test('the capture on stdout (tcpdump -w -): pcapng bytes only, the report on stderr', () => {
    // /proc/self/fd/1 rather than /dev/stdout: a build that renames over its target only fails here
    const r = spawnSync(process.execPath, [CLI, 'trace', '--pcap', '/proc/self/fd/1'], { timeout: 20_000 });
    expect(r.status).toBe(0);
    expect([...r.stdout.subarray(0, 4)]).toEqual([0x0a, 0x0d, 0x0d, 0x0a]);
    expect(r.stdout.includes(Buffer.from('podnet trace:'))).toBe(false);
    expect(r.stderr.toString()).toMatch(/^podnet trace: tcp /);
    expect(r.stderr.toString()).toContain('capture written: /proc/self/fd/1');
  });

  test('a symlink to a regular file: the file gets the capture, the link stays', () => {
    const d = freshDir();
    fs.writeFileSync(join(d, 'real.pcapng'), 'old');
    fs.symlinkSync('real.pcapng', join(d, 'link.pcapng'));
    expect(podnet(['trace', '--pcap', join(d, 'link.pcapng')]).code).toBe(0);
    expect(fs.lstatSync(join(d, 'link.pcapng')).isSymbolicLink()).toBe(true);
    expect(fs.statSync(join(d, 'real.pcapng')).size).toBeGreaterThan(100);
  });
});

describe.skipIf(!fs.existsSync(CLI))('errors while writing name the file: exit 2, nothing half-written', () => {
  test('a full disk (a link to /dev/full)', () => {
    const d = freshDir();
    fs.symlinkSync('/dev/full', join(d, 'full.pcapng'));
    const r = podnet(['trace', '--pcap', join(d, 'full.pcapng')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^podnet: cannot write .*full\.pcapng: no space left on device \(ENOSPC\)\n$/);
    expect(fs.lstatSync(join(d, 'full.pcapng')).isSymbolicLink()).toBe(true);
    expect(temps(d)).toEqual([]);
  });

  test('too many open files with --pcap-format pcap (one file per interface)', () => {
    const d = freshDir();
    // enough descriptors for node itself, too few for the built-in topology's 17 capture files
    const r = spawnSync(
      'sh',
      ['-c', `ulimit -n 28 && exec "${process.execPath}" "${CLI}" "$@"`, 'sh', 'trace'].concat([
        '--pcap',
        join(d, 'x.pcap'),
        '--pcap-format',
        'pcap',
      ]),
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^podnet: cannot write .*: too many open files \(EMFILE\) with \d+ capture files open/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.readdirSync(d)).toEqual([]);
  });
});

describe.skipIf(!fs.existsSync(CLI))('temp files do not outlive the run', () => {
  const interrupted = (signal: NodeJS.Signals, code: number) => async () => {
    const d = freshDir();
    const topo = longTopology(d);
    const out = join(d, 'caps');
    const child: ChildProcess = spawn(process.execPath, [CLI, 'run', topo, '--pcap-dir', out], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: string | null }>((res) =>
      child.on('exit', (c, s) => res({ code: c, signal: s })),
    );
    try {
      expect(waitFor(() => fs.existsSync(out) && temps(out).length > 0, 30_000)).toBe(true);
      child.kill(signal);
      const e = await exited;
      // the default action: the shell shows 128 + the signal's number
      expect(e.signal ?? e.code).toBe(e.signal === null ? code : signal);
      expect(waitFor(() => temps(out).length === 0, 10_000)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  };
  test('SIGINT', { timeout: 60_000 }, interrupted('SIGINT', 130));
  test('SIGTERM', { timeout: 60_000 }, interrupted('SIGTERM', 143));
  test('SIGHUP', { timeout: 60_000 }, interrupted('SIGHUP', 129));

  test('stale temp files of dead processes are removed at the next run in that folder; live ones stay', () => {
    const d = freshDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const stale = `.podnet-${dead.stdout}-0.tmp`;
    const live = `.podnet-${process.pid}-0.tmp`;
    fs.writeFileSync(join(d, stale), 'x'.repeat(1000));
    fs.writeFileSync(join(d, live), 'y');
    expect(podnet(['run', TOPOLOGY, '--pcap-dir', d]).code).toBe(0);
    expect(fs.existsSync(join(d, stale))).toBe(false);
    expect(fs.existsSync(join(d, live))).toBe(true);
  });
});

describe.skipIf(!fs.existsSync(CLI))('captures named from input', () => {
  test('a --capture pattern that matches no point is an error listing the points', () => {
    const d = freshDir();
    const r = podnet(['trace', '--pcap', join(d, 'x.pcapng'), '--capture', 'nosuch/*']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--capture "nosuch\/\*" matches no capture point; the points are gw\/eth0, node1\/eth0/);
    expect(r.stdout).toBe('');
    expect(fs.readdirSync(d)).toEqual([]);
  });

  test('a 250-character Scenario name with --pcap-split node: one distinct file per node', () => {
    const d = freshDir();
    const long = `s${'x'.repeat(249)}`;
    const topo = join(d, 'long-name.yaml');
    fs.writeFileSync(
      topo,
      fs.readFileSync(TOPOLOGY, 'utf8').replace(/(kind: Scenario\nmetadata:\n {2}name: )\S+/, `$1${long}`),
    );
    const caps = join(d, 'caps');
    const r = podnet(['run', topo, '--pcap-dir', caps, '--pcap-split', 'node']);
    expect(r.code).toBe(0);
    const written = r.stdout.split('\n').filter((l) => l.startsWith('capture written: '));
    const files = fs.readdirSync(caps);
    expect(written.length).toBeGreaterThanOrEqual(3); // node1, node2, the gateway
    expect(new Set(written).size).toBe(written.length);
    expect(files).toHaveLength(written.length);
    for (const f of files) expect(Buffer.byteLength(f)).toBeLessThanOrEqual(255);
  });
});
