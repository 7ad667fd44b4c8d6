/**
 * Kernel-side TCP probe client (run with `ip netns exec <ns> node tcp-client.js`), like
 * podnet's (src/apps/probe.ts): once a line arrives on stdin, make one connection per attempt
 * at its offset (--offsets-ms, default one attempt at 0): connect from --sport (or an ephemeral
 * port), read to EOF, close. One timer of --timeout-ms per connection: still connecting →
 * "Connection timed out"; connected but no EOF → "timed out waiting for the reply" (the socket
 * is reset). Prints one JSON line per attempt, in the order they finish:
 * { attempt, ok, localPort, data, error, connectMs }; exits when every attempt has finished.
 *
 * Usage: node tcp-client.js --dst 10.244.2.2 --port 8080 [--sport 40001] --timeout-ms 2000 [--offsets-ms 0,10,20]
 */
import net from 'node:net';

const opts = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) opts.set(process.argv[i]!, process.argv[i + 1] ?? '');
const dst = opts.get('--dst') ?? '';
const port = Number(opts.get('--port'));
const sport = opts.has('--sport') ? Number(opts.get('--sport')) : undefined;
const timeoutMs = Number(opts.get('--timeout-ms') ?? 2000);
const offsets = (opts.get('--offsets-ms') ?? '0').split(',').map(Number);
let remaining = offsets.length;

function done(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + '\n');
  if (--remaining === 0) process.exit(0);
}

function start(attempt: number): void {
  const t0 = Date.now();
  let connected = false;
  let connectMs: number | undefined;
  let data = '';
  let finished = false;
  const sock = net.connect(sport === undefined ? { host: dst, port } : { host: dst, port, localAddress: '0.0.0.0', localPort: sport });
  // the port is bound once connect() has gone out (not yet when net.connect returns)
  const port0 = (): number | null => {
    try {
      return sock.localPort ?? sport ?? null;
    } catch {
      return sport ?? null;
    }
  };
  let localPort: number | null = sport ?? null;
  const finish = (r: { ok: boolean; error: string | null }): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    clearInterval(poll);
    done({ attempt, ok: r.ok, localPort: localPort ?? port0(), data, error: r.error, connectMs: connectMs ?? null });
  };
  const poll = setInterval(() => {
    if (localPort === null || localPort === sport) localPort = port0();
    if (localPort !== null) clearInterval(poll);
  }, 1);
  const timer = setTimeout(() => {
    const error = connected ? 'timed out waiting for the reply' : 'Connection timed out';
    localPort = localPort ?? port0();
    if (connected) sock.resetAndDestroy();
    else sock.destroy();
    finish({ ok: false, error });
  }, timeoutMs);
  sock.setEncoding('utf8');
  sock.on('connect', () => {
    connected = true;
    connectMs = Date.now() - t0;
    localPort = sock.localPort ?? localPort;
  });
  sock.on('data', (d: string) => {
    data += d;
  });
  sock.on('close', (hadError) => {
    finish({ ok: !hadError && data !== '', error: hadError ? 'connection error' : null });
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    const error = e.code === 'ECONNREFUSED' ? 'Connection refused' : e.code === 'ECONNRESET' ? 'Connection reset by peer' : e.code === 'ETIMEDOUT' ? 'Connection timed out' : e.message;
    finish({ ok: false, error });
  });
}

// started ahead of time by the executor (node takes ~100 ms to start): say so, then wait for the
// go line on stdin; give up after 10 minutes whatever happens
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
