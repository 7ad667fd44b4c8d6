/**
 * Kernel-side TCP probe client (run with `ip netns exec <ns> node tcp-client.js`), like
 * podnet's (src/apps/probe.ts): once a line arrives on stdin, connect from --sport (or an ephemeral port),
 * read to EOF, close. One timer of --timeout-ms from the connect: still connecting → "Connection
 * timed out"; connected but no EOF → "timed out waiting for the reply" (the socket is reset).
 * Prints one JSON line: { ok, localPort, data, error, connectMs }.
 *
 * Usage: node tcp-client.js --dst 10.244.2.2 --port 8080 [--sport 40001] --timeout-ms 2000
 */
import net from 'node:net';

const opts = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) opts.set(process.argv[i]!, process.argv[i + 1] ?? '');
const dst = opts.get('--dst') ?? '';
const port = Number(opts.get('--port'));
const sport = opts.has('--sport') ? Number(opts.get('--sport')) : undefined;
const timeoutMs = Number(opts.get('--timeout-ms') ?? 2000);

function done(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

function start(): void {
  const t0 = Date.now();
  let connected = false;
  let connectMs: number | undefined;
  let data = '';
  let localPort: number | undefined = sport;
  const sock = net.connect(sport === undefined ? { host: dst, port } : { host: dst, port, localAddress: '0.0.0.0', localPort: sport });
  const timer = setTimeout(() => {
    const error = connected ? 'timed out waiting for the reply' : 'Connection timed out';
    if (connected) sock.resetAndDestroy();
    else sock.destroy();
    done({ ok: false, localPort: localPort ?? null, data, error, connectMs: connectMs ?? null });
  }, timeoutMs);
  sock.setEncoding('utf8');
  sock.on('connect', () => {
    connected = true;
    connectMs = Date.now() - t0;
    localPort = sock.localPort;
  });
  sock.on('data', (d: string) => {
    data += d;
  });
  sock.on('close', (hadError) => {
    clearTimeout(timer);
    done({ ok: !hadError && data !== '', localPort: localPort ?? null, data, error: hadError ? 'connection error' : null, connectMs: connectMs ?? null });
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    const error = e.code === 'ECONNREFUSED' ? 'Connection refused' : e.code === 'ECONNRESET' ? 'Connection reset by peer' : e.code === 'ETIMEDOUT' ? 'Connection timed out' : e.message;
    done({ ok: false, localPort: localPort ?? null, data, error, connectMs: connectMs ?? null });
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
    start();
  }
});
process.stdin.on('end', () => {
  if (!go.includes('\n')) process.exit(2);
});
