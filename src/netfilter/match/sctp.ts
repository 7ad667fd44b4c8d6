/** `-m sctp` (libxt_sctp, xt_sctp): ports only; `--chunk-types` is not supported. */
import type { ExtParser, MatchExtension, Tok } from '../extension.js';
import { PORT_OPTS, PortsOptions, portsMatch, printPorts, type PortsFields } from './ports.js';

const IPPROTO_SCTP = 132;

/** `-m sctp` (ports only). Unlike tcp/udp, a given range is always kept. */
export interface SctpMatch extends PortsFields {
  readonly kind: 'sctp';
}

/** The sctp module. */
export const sctp: MatchExtension<SctpMatch> = {
  name: 'sctp',
  parser(at: Tok): ExtParser<SctpMatch> {
    const ports = new PortsOptions(true);
    return {
      opts: PORT_OPTS,
      apply(o, [t], invert) {
        ports.apply(PORT_OPTS[o]!.canon ?? o, t, invert);
      },
      finish(ctx) {
        return { kind: 'sctp', ...ports.finish(ctx, at, 'sctp', IPPROTO_SCTP) };
      },
    };
  },
  print: (m) => printPorts('sctp', m),
  evaluate: (m, ctx) => portsMatch(m, ctx, IPPROTO_SCTP),
};
