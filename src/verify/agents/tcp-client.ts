/**
 * Kernel-side TCP probe client (run with `ip netns exec <ns> node tcp-client.js`), like
 * podnet's (src/apps/probe.ts): once a line arrives on stdin, make one connection per attempt
 * at its offset (--offsets-ms, default one attempt at 0): connect from --sport (or an ephemeral
 * port), read to EOF, close. One timer of --timeout-ms per connection: still connecting →
 * "Connection timed out"; connected but no EOF → "timed out waiting for the reply" (the socket
 * is reset). Prints one JSON line per attempt, in the order they finish:
 * { attempt, ok, localPort, data, error, connectMs }; exits when every attempt has finished.
 *
 * With --name instead of --dst, each attempt first resolves the name with glibc's getaddrinfo
 * (the line then carries `addresses`, or `gaiError` and no connection) and dials the first address.
 *
 * Usage: node tcp-client.js (--dst 10.244.2.2 | --name web) --port 8080 [--sport 40001] --timeout-ms 2000 [--offsets-ms
 * 0,10,20]
 */
import net from 'node:net';
import { offsetsOf, parseArgs, resolveDestination, resultPrinter, startOnGo } from './client-common.js';

const opts = parseArgs();
const port = Number(opts.get('--port'));
const sport = opts.has('--sport') ? Number(opts.get('--sport')) : undefined;
const timeoutMs = Number(opts.get('--timeout-ms') ?? 2000);
const offsets = offsetsOf(opts);
const done = resultPrinter(offsets.length);

function start(attempt: number): void {
  resolveDestination(opts, (r) => {
    if ('gaiError' in r) done({ attempt, ok: false, localPort: null, data: '', error: null, gaiError: r.gaiError });
    else connect(attempt, r.addresses[0] ?? '', opts.has('--name') ? r.addresses : undefined);
  });
}

function connect(attempt: number, dst: string, addresses: string[] | undefined): void {
  const t0 = Date.now();
  let connected = false;
  let connectMs: number | undefined;
  let data = '';
  let finished = false;
  const sock = net.connect(
    sport === undefined ? { host: dst, port } : { host: dst, port, localAddress: '0.0.0.0', localPort: sport },
  );
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
    done({
      attempt,
      ok: r.ok,
      localPort: localPort ?? port0(),
      data,
      error: r.error,
      connectMs: connectMs ?? null,
      ...(addresses === undefined ? {} : { addresses }),
    });
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
    const error =
      e.code === 'ECONNREFUSED'
        ? 'Connection refused'
        : e.code === 'ECONNRESET'
          ? 'Connection reset by peer'
          : e.code === 'ETIMEDOUT'
            ? 'Connection timed out'
            : e.message;
    finish({ ok: false, error });
  });
}

startOnGo(offsets, start);
