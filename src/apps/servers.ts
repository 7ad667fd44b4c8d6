/**
 * The servers podnet runs where a pod listens (PodModel.listeners) and on an external host's ports,
 * behaving like the kernel oracle's socat servers: TCP writes one line
 * `<name> <peer-ip> <peer-port>\n` right after accept and closes first; UDP answers every datagram
 * with the same line. The line tells the client which endpoint answered and what source address
 * that endpoint saw.
 */
import { formatIpv4 } from '../wire/addr.js';
import type { Ipv4Addr } from '../wire/addr.js';
import type { NetNs } from '../net/netns.js';
import type { TcpSocket } from '../net/tcp.js';

/** What a server saw for one request: which endpoint, which peer. */
export interface ServerObservation {
  readonly t: number;
  readonly server: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly peer: Ipv4Addr;
  readonly peerPort: number;
  readonly flow: number;
}

/** The banner line a server sends. */
export function bannerLine(server: string, peer: Ipv4Addr, peerPort: number): string {
  return `${server} ${formatIpv4(peer)} ${peerPort}\n`;
}

/** Parses a banner line back into its parts (undefined when it is not one). */
export function parseBanner(text: string): { server: string; peer: string; peerPort: number } | undefined {
  const m = /^(\S+) (\d+\.\d+\.\d+\.\d+) (\d+)\n?$/.exec(text);
  if (!m) return undefined;
  return { server: m[1]!, peer: m[2]!, peerPort: Number(m[3]) };
}

const encoder = new TextEncoder();

/** A port to serve: on every address, or on `address` only (a loopback-only listener). */
export interface ServedPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly address?: Ipv4Addr | undefined;
}

/** Starts servers for `ports` in `ns`; returns the ports that could not be bound (already in use). */
export function startServers(
  ns: NetNs,
  name: string,
  ports: readonly ServedPort[],
  observe: (o: ServerObservation) => void,
): string[] {
  const failed: string[] = [];
  for (const p of ports) {
    const at = p.address !== undefined ? `${formatIpv4(p.address)}:` : '';
    if (p.protocol === 'TCP') {
      const l = ns.sockets.tcp.listen(p.address ?? 0, p.port, (s: TcpSocket) => {
        observe({
          t: ns.world.now,
          server: name,
          protocol: 'tcp',
          port: p.port,
          peer: s.remoteAddr,
          peerPort: s.remotePort,
          flow: s.flow,
        });
        s.write(encoder.encode(bannerLine(name, s.remoteAddr, s.remotePort)));
        s.close();
      });
      if ('errno' in l) failed.push(`${at}${p.port}/TCP: ${l.message}`);
    } else if (p.protocol === 'UDP') {
      const s = ns.sockets.openUdp(p.address ?? 0, p.port);
      if ('errno' in s) {
        failed.push(`${at}${p.port}/UDP: ${s.message}`);
        continue;
      }
      s.onMessage = (_data, info) => {
        observe({
          t: ns.world.now,
          server: name,
          protocol: 'udp',
          port: p.port,
          peer: info.from,
          peerPort: info.fromPort,
          flow: info.flow,
        });
        s.flow = info.flow;
        s.sendTo(info.from, info.fromPort, encoder.encode(bannerLine(name, info.from, info.fromPort)));
      };
    } else {
      failed.push(`${at}${p.port}/${p.protocol}: protocol not emulated`);
    }
  }
  return failed;
}
