/**
 * Kernel-side DNS server agent (run with `ip netns exec <ns> node dns-server.js`): in a CoreDNS
 * pod's namespace it runs podnet's CoreDNS plugin chain (src/apps/coredns.ts CoreDnsChain: cache,
 * kubernetes, forward, loadbalance, scrub) over real sockets; in the underlay gateway's namespace
 * it answers from the Cluster's upstream table as podnet's gateway does. Both serve UDP and TCP
 * port 53 and screen queries as podnet's servers do; the forward plugin's transport is real:
 * pooled connected UDP sockets reused for 10 s, a TCP connection per query.
 *
 * What the DNS answers say is podnet's model on both sides (there is no CoreDNS binary here); what
 * the kernel check compares is the path: glibc's queries, kube-dns's DNAT, the replies' way back.
 *
 * Prints `READY` once both ports listen; exits on SIGTERM or after --max-seconds.
 *
 * Usage: node dns-server.js --config dns-coredns-0.json [--max-seconds 600]
 *   config: { "mode": "coredns", "name": "kube-system/coredns-0", "view": "<dnsViewToJson>", "upstreams":
 * ["172.18.0.1"], "seed": 1 }
 *        or { "mode": "upstream", "table": { "example.com": { "addresses": [167772161] } } }
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { CoreDnsChain, FORWARD_CONN_EXPIRE, dnsViewFromJson } from '../../apps/coredns.js';
import type { CoreDnsHost, UpstreamOutcome, UpstreamTrouble } from '../../apps/coredns.js';
import { DnsTcpReader, screenQuery, upstreamReply } from '../../apps/dns-server.js';
import { frameDnsTcp, parseDns } from '../../wire/dns.js';
import type { DnsMessage } from '../../wire/dns.js';
import { formatIpv4, parseIpv4 } from '../../wire/addr.js';
import type { Ipv4Addr } from '../../wire/addr.js';
import type { UpstreamDnsEntry } from '../../kube/model.js';
import { Rng } from '../../sim/rng.js';
import type { Nanos } from '../../sim/time.js';

/** The agent's configuration file. */
export type DnsAgentConfig =
  | {
      readonly mode: 'coredns';
      readonly name: string;
      readonly view: string;
      readonly upstreams: readonly string[];
      readonly seed: number;
    }
  | { readonly mode: 'upstream'; readonly table: Readonly<Record<string, UpstreamDnsEntry>> };

interface Pooled {
  readonly sock: dgram.Socket;
  lastUsed: Nanos;
  pending: { id: number; done: (o: UpstreamOutcome) => void; timer: NodeJS.Timeout } | undefined;
}

const t0 = process.hrtime.bigint();
const now = (): Nanos => Number(process.hrtime.bigint() - t0);

/** The forward plugin's transport over real sockets (as CoreDnsServer's over podnet's). */
class RealHost implements CoreDnsHost {
  private readonly pool: Pooled[] = [];
  constructor(readonly rng: Rng) {}

  now(): Nanos {
    return now();
  }

  trace(): void {
    /* nothing is traced on the kernel side */
  }

  exchange(
    upstream: Ipv4Addr,
    proto: 'udp' | 'tcp',
    wire: Uint8Array,
    id: number,
    timeout: Nanos,
    _flow: number,
    done: (o: UpstreamOutcome) => void,
  ): void {
    if (proto === 'tcp') this.exchangeTcp(upstream, wire, id, timeout, done);
    else this.exchangeUdp(upstream, wire, id, timeout, done);
  }

  private exchangeUdp(
    upstream: Ipv4Addr,
    wire: Uint8Array,
    id: number,
    timeout: Nanos,
    done: (o: UpstreamOutcome) => void,
  ): void {
    const send = (conn: Pooled): void => {
      const timer = setTimeout(() => {
        if (conn.pending?.id !== id) return;
        conn.pending = undefined;
        conn.sock.close();
        done({ retry: { timeout, tcp: false } });
      }, timeout / 1e6);
      conn.pending = {
        id,
        timer,
        done: (o) => {
          conn.lastUsed = now();
          if ('answer' in o) this.pool.push(conn);
          done(o);
        },
      };
      conn.sock.send(wire, (err) => {
        if (err === null || err === undefined || conn.pending?.id !== id) return;
        clearTimeout(timer);
        conn.pending = undefined;
        conn.sock.close();
        done({ retry: { error: err.message } });
      });
    };
    while (this.pool.length > 0) {
      const c = this.pool.shift()!;
      if (now() - c.lastUsed > FORWARD_CONN_EXPIRE) {
        c.sock.close();
        continue;
      }
      send(c);
      return;
    }
    const sock = dgram.createSocket('udp4');
    const fresh: Pooled = { sock, lastUsed: now(), pending: undefined };
    sock.on('message', (data) => {
      const p = fresh.pending;
      if (p === undefined) return;
      let m: DnsMessage;
      try {
        m = parseDns(data);
      } catch {
        return;
      }
      if (m.header.id !== p.id) return;
      fresh.pending = undefined;
      clearTimeout(p.timer);
      p.done({ answer: m });
    });
    sock.on('error', (err) => {
      const p = fresh.pending;
      fresh.pending = undefined;
      try {
        sock.close();
      } catch {
        /* closed */
      }
      if (p !== undefined) {
        clearTimeout(p.timer);
        p.done({ fail: { error: err.message } });
      }
    });
    sock.connect(53, formatIpv4(upstream), () => send(fresh));
  }

  private exchangeTcp(
    upstream: Ipv4Addr,
    wire: Uint8Array,
    id: number,
    timeout: Nanos,
    done: (o: UpstreamOutcome) => void,
  ): void {
    const reader = new DnsTcpReader();
    let settled = false;
    const sock = net.connect({ host: formatIpv4(upstream), port: 53 });
    sock.setNoDelay(true);
    const finish = (m: DnsMessage | undefined, why?: UpstreamTrouble): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      done(m !== undefined ? { answer: m } : { retry: why ?? { error: 'connection failed' } });
    };
    const timer = setTimeout(() => finish(undefined, { timeout, tcp: true }), timeout / 1e6);
    sock.on('connect', () => sock.write(frameDnsTcp(wire)));
    sock.on('data', (d: Buffer) => {
      for (const m of reader.push(new Uint8Array(d))) if (m.header.id === id) finish(m);
    });
    sock.on('error', (e) => finish(undefined, { error: e.message }));
    sock.on('close', () => finish(undefined, { error: 'closed without an answer' }));
  }
}

function argsOf(argv: readonly string[]): { config: string; maxSeconds: number } {
  let config = '';
  let maxSeconds = 600;
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--config') config = argv[i + 1] ?? '';
    else if (argv[i] === '--max-seconds') maxSeconds = Number(argv[i + 1]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (config === '') throw new Error('--config is required');
  return { config, maxSeconds };
}

const args = argsOf(process.argv.slice(2));
const config = JSON.parse(readFileSync(args.config, 'utf8')) as DnsAgentConfig;

/** Answers one screened query over `proto`; `reply` sends the bytes. */
let answer: (
  query: DnsMessage,
  proto: 'udp' | 'tcp',
  client: string,
  clientPort: number,
  reply: (bytes: Uint8Array) => void,
) => void;
if (config.mode === 'coredns') {
  const upstreams = config.upstreams.map((u) => parseIpv4(u)!).filter((u) => u !== undefined);
  const chain = new CoreDnsChain(
    { name: config.name, view: dnsViewFromJson(config.view), upstreams },
    new RealHost(new Rng(config.seed, 'coredns-agent')),
  );
  answer = (query, proto, client, clientPort, reply) =>
    chain.handle({ query, proto, client: parseIpv4(client) ?? 0, clientPort, flow: 0 }, reply);
} else {
  const table = config.table;
  answer = (query, proto, _client, _port, reply) => reply(upstreamReply(query, table, proto).bytes);
}

let pending = 2;
const ready = (): void => {
  if (--pending === 0) process.stdout.write('READY\n');
};
const fail = (what: string, e: Error): void => {
  process.stdout.write(`ERROR ${what}: ${e.message}\n`);
  process.exit(1);
};

const udp = dgram.createSocket('udp4');
udp.on('error', (e) => fail('udp 53', e));
udp.on('message', (raw, rinfo) => {
  const r = screenQuery(new Uint8Array(raw));
  if (r === undefined) return;
  const send = (bytes: Uint8Array): void => udp.send(bytes, rinfo.port, rinfo.address);
  if ('reject' in r) send(r.reject);
  else answer(r.query, 'udp', rinfo.address, rinfo.port, send);
});
udp.bind({ port: 53, address: '0.0.0.0' }, ready);

const tcp = net.createServer((sock) => {
  sock.on('error', () => undefined);
  const reader = new DnsTcpReader();
  sock.on('data', (d: Buffer) => {
    for (const raw of reader.pushRaw(new Uint8Array(d))) {
      const r = screenQuery(raw);
      if (r === undefined) continue;
      const send = (bytes: Uint8Array): void => {
        if (!sock.destroyed && sock.writable) sock.write(frameDnsTcp(bytes));
      };
      if ('reject' in r) send(r.reject);
      else answer(r.query, 'tcp', (sock.remoteAddress ?? '').replace(/^::ffff:/, ''), sock.remotePort ?? 0, send);
    }
  });
});
tcp.on('error', (e) => fail('tcp 53', e));
tcp.listen({ port: 53, host: '0.0.0.0' }, ready);

setTimeout(() => process.exit(0), args.maxSeconds * 1000);
process.on('SIGTERM', () => process.exit(0));
