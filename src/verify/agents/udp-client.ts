/**
 * Kernel-side UDP probe client (run with `ip netns exec <ns> node udp-client.js`), like
 * podnet's (src/apps/probe.ts): once a line arrives on stdin, for each attempt at its offset
 * (--offsets-ms, default one attempt at 0) open a socket bound to --sport (or an ephemeral
 * port), connect it to the destination, send the payload, wait up to --timeout-ms for one
 * reply. Prints one JSON line per attempt, in the order they finish:
 * { attempt, ok, localPort, data, from, error, errno }; exits when every attempt has finished.
 *
 * With --name instead of --dst, each attempt first resolves the name with glibc's getaddrinfo
 * (the line then carries `addresses`, or `gaiError` and no datagram) and sends to the first address.
 *
 * Usage: node udp-client.js (--dst 10.244.2.2 | --name web) --port 5353 [--sport 40001] --payload-hex 70726f62650a
 * --timeout-ms 2000 [--offsets-ms 0,20]
 */
import dgram from 'node:dgram';
import { offsetsOf, parseArgs, resolveDestination, resultPrinter, startOnGo } from './client-common.js';

const opts = parseArgs();
const port = Number(opts.get('--port'));
const sport = opts.has('--sport') ? Number(opts.get('--sport')) : 0;
const payload = Buffer.from(opts.get('--payload-hex') ?? '', 'hex');
const timeoutMs = Number(opts.get('--timeout-ms') ?? 2000);
const offsets = offsetsOf(opts);
const done = resultPrinter(offsets.length);

function start(attempt: number): void {
  resolveDestination(opts, (r) => {
    if ('gaiError' in r)
      done({ attempt, ok: false, localPort: null, data: '', from: null, error: null, gaiError: r.gaiError });
    else exchange(attempt, r.addresses[0] ?? '', opts.has('--name') ? r.addresses : undefined);
  });
}

function exchange(attempt: number, dst: string, addresses: string[] | undefined): void {
  const s = dgram.createSocket('udp4');
  let localPort: number | null = null;
  let finished = false;
  const finish = (r: Record<string, unknown>): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    try {
      s.close();
    } catch {
      /* already closed */
    }
    done({ attempt, localPort, ...r, ...(addresses === undefined ? {} : { addresses }) });
  };
  const timer = setTimeout(() => finish({ ok: false, data: '', from: null, error: 'no reply' }), timeoutMs);
  s.on('error', (e: NodeJS.ErrnoException) => {
    finish({ ok: false, data: '', from: null, error: e.message, errno: e.code ?? null });
  });
  s.on('message', (msg, rinfo) => {
    finish({ ok: true, data: msg.toString('utf8'), from: `${rinfo.address}:${rinfo.port}`, error: null });
  });
  s.bind({ port: sport, address: '0.0.0.0' }, () => {
    localPort = s.address().port;
    s.connect(port, dst, () => {
      s.send(payload);
    });
  });
}

startOnGo(offsets, start);
