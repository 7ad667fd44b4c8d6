/** `-m udp` (libxt_udp, xt_tcpudp). */
import { IPPROTO_UDP } from '../../wire/ipv4.js';
import type { ExtParser, MatchExtension, Tok } from '../extension.js';
import { PORT_OPTS, PortsOptions, portsMatch, printPorts, type PortsFields } from './ports.js';

/** `-m udp`. Absent fields match anything. */
export interface UdpMatch extends PortsFields {
  readonly kind: 'udp';
}

/** The udp module. */
export const udp: MatchExtension<UdpMatch> = {
  name: 'udp',
  parser(at: Tok): ExtParser<UdpMatch> {
    const ports = new PortsOptions(false);
    return {
      opts: PORT_OPTS,
      apply(o, [t], invert) {
        ports.apply(PORT_OPTS[o]!.canon ?? o, t, invert);
      },
      finish(ctx) {
        return { kind: 'udp', ...ports.finish(ctx, at, 'udp', IPPROTO_UDP) };
      },
    };
  },
  print: (m) => printPorts('udp', m),
  evaluate: (m, ctx) => portsMatch(m, ctx, IPPROTO_UDP),
};
