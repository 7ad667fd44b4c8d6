/**
 * The servers podnet runs on declared ports, behaving like the kernel oracle's socat servers:
 * TCP writes one line `<name> <peer-ip> <peer-port>\n` right after accept and closes first;
 * UDP answers every datagram with the same line. The line tells the client which endpoint
 * answered and what source address that endpoint saw.
 */
import { formatIpv4 } from '../wire/addr.js';
import type { Ipv4Addr } from '../wire/addr.js';
import type { NetNs } from '../net/netns.js';
import type { TcpSocket } from '../net/tcp.js';
import type { ContainerPortModel } from '../kube/model.js';

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

/** Starts servers for `ports` in `ns`; returns the ports that could not be bound (already in use). */
export function startServers(
  ns: NetNs,
  name: string,
  ports: readonly ContainerPortModel[],
  observe: (o: ServerObservation) => void,
): string[] {
  const failed: string[] = [];
  const started = new Set<string>();
  for (const p of ports) {
    // a port declared twice (the API server accepts it) is one socket, not a bind conflict
    const key = `${p.containerPort}/${p.protocol}`;
    if (started.has(key)) continue;
    started.add(key);
    if (p.protocol === 'TCP') {
      const l = ns.sockets.tcp.listen(0, p.containerPort, (s: TcpSocket) => {
        observe({
          t: ns.world.now,
          server: name,
          protocol: 'tcp',
          port: p.containerPort,
          peer: s.remoteAddr,
          peerPort: s.remotePort,
          flow: s.flow,
        });
        s.write(encoder.encode(bannerLine(name, s.remoteAddr, s.remotePort)));
        s.close();
      });
      if ('errno' in l) failed.push(`${p.containerPort}/TCP: ${l.message}`);
    } else if (p.protocol === 'UDP') {
      const s = ns.sockets.openUdp(0, p.containerPort);
      if ('errno' in s) {
        failed.push(`${p.containerPort}/UDP: ${s.message}`);
        continue;
      }
      s.onMessage = (_data, info) => {
        observe({
          t: ns.world.now,
          server: name,
          protocol: 'udp',
          port: p.containerPort,
          peer: info.from,
          peerPort: info.fromPort,
          flow: info.flow,
        });
        s.flow = info.flow;
        s.sendTo(info.from, info.fromPort, encoder.encode(bannerLine(name, info.from, info.fromPort)));
      };
    } else {
      failed.push(`${p.containerPort}/${p.protocol}: protocol not emulated`);
    }
  }
  return failed;
}
