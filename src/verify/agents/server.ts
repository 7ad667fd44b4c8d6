/**
 * Kernel-side server agent (run with `ip netns exec <ns> node server.js`): behaves exactly like
 * podnet's servers (src/apps/servers.ts). TCP: on accept, write `<name> <peer-ip> <peer-port>\n`
 * and close first. UDP: answer every datagram with that line from the unconnected socket.
 * Prints `READY` once every port listens; exits on SIGTERM or after --max-seconds.
 * Dependency-free on purpose: it runs inside network namespaces with nothing but node.
 *
 * Usage: node server.js --name web-0 [--tcp 8080]... [--udp 5353]... [--max-seconds 600]
 * A port may be given as `address:port` (`--tcp 127.0.0.1:10257`) to bind that address only.
 */
import net from 'node:net';
import dgram from 'node:dgram';

interface Bind {
  readonly address: string;
  readonly port: number;
}

function bind(v: string): Bind {
  const i = v.lastIndexOf(':');
  return i < 0 ? { address: '0.0.0.0', port: Number(v) } : { address: v.slice(0, i), port: Number(v.slice(i + 1)) };
}

function parseArgs(argv: string[]): { name: string; tcp: Bind[]; udp: Bind[]; maxSeconds: number } {
  let name = '';
  const tcp: Bind[] = [];
  const udp: Bind[] = [];
  let maxSeconds = 600;
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1] ?? '';
    if (k === '--name') name = v;
    else if (k === '--tcp') tcp.push(bind(v));
    else if (k === '--udp') udp.push(bind(v));
    else if (k === '--max-seconds') maxSeconds = Number(v);
    else throw new Error(`unknown argument ${k}`);
  }
  if (name === '') throw new Error('--name is required');
  return { name, tcp, udp, maxSeconds };
}

function line(name: string, ip: string | undefined, port: number | undefined): string {
  return `${name} ${(ip ?? '?').replace(/^::ffff:/, '')} ${port ?? 0}\n`;
}

const args = parseArgs(process.argv.slice(2));
let pending = args.tcp.length + args.udp.length;
const ready = (): void => {
  if (--pending === 0) process.stdout.write('READY\n');
};
const fail = (what: string, e: Error): void => {
  process.stdout.write(`ERROR ${what}: ${e.message}\n`);
  process.exit(1);
};

for (const { address, port } of args.tcp) {
  const srv = net.createServer((sock) => {
    sock.on('error', () => undefined);
    sock.end(line(args.name, sock.remoteAddress, sock.remotePort));
  });
  srv.on('error', (e) => fail(`tcp ${port}`, e));
  srv.listen({ port, host: address }, ready);
}
for (const { address, port } of args.udp) {
  const s = dgram.createSocket('udp4');
  s.on('error', (e) => fail(`udp ${port}`, e));
  s.on('message', (_msg, rinfo) => {
    s.send(line(args.name, rinfo.address, rinfo.port), rinfo.port, rinfo.address);
  });
  s.bind({ port, address }, ready);
}
if (pending === 0) process.stdout.write('READY\n');
setTimeout(() => process.exit(0), args.maxSeconds * 1000);
process.on('SIGTERM', () => process.exit(0));
