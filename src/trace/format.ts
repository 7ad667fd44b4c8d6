/**
 * Text and JSON renderings of hop events and probe results. JSON field names here are the
 * stable, documented schema (README "JSON output").
 */
import type { HopEvent, HopSink } from './tracer.js';
import type { FrameDissection } from '../wire/dissect.js';

/** Milliseconds with microsecond precision: `12.345`. */
export function formatMs(t: number): string {
  return (t / 1e6).toFixed(3);
}

/** One hop as a text line: time (ms), namespace, device, kind, description. */
export function formatHopLine(ev: HopEvent): string {
  return `${formatMs(ev.t).padStart(10)}  ${ev.where.padEnd(14)} ${(ev.dev ?? '').padEnd(13)} ${ev.kind.padEnd(7)} ${ev.text}`;
}

/** Header line matching formatHopLine's columns. */
export const HOP_HEADER = `${'TIME(ms)'.padStart(10)}  ${'WHERE'.padEnd(14)} ${'DEVICE'.padEnd(13)} ${'EVENT'.padEnd(7)} DETAILS`;

/** The JSON form of a hop (schema `podnet.hop/v1`). */
export interface HopJson {
  t_ns: number;
  kind: string;
  where: string;
  dev: string | null;
  packet: number | null;
  flow: number;
  text: string;
  data?: Readonly<Record<string, string | number | boolean>>;
  /** rx/tx events: the frame decoded layer by layer (eth, arp, ip, icmp, udp, tcp, vxlan, inner). */
  frame?: FrameDissection;
}

/** Converts a hop event to its JSON form. */
export function hopToJson(ev: HopEvent): HopJson {
  const j: HopJson = { t_ns: ev.t, kind: ev.kind, where: ev.where, dev: ev.dev ?? null, packet: ev.pkt ?? null, flow: ev.flow, text: ev.text };
  if (ev.data !== undefined) j.data = ev.data;
  if (ev.frame !== undefined) j.frame = ev.frame;
  return j;
}

/**
 * Events a person rarely needs: chain traversals that matched nothing decisive and ended in an
 * ACCEPT policy, and conntrack bookkeeping for the underlay's own VXLAN datagrams.
 */
export function isRoutineHop(ev: HopEvent): boolean {
  if (ev.kind === 'nf' && ev.data?.verdict === 'policy ACCEPT') return true;
  if (ev.kind === 'nat' && /^conntrack (confirmed|: new flow udp .*dport=(8472|4789) )/.test(ev.text)) return true;
  if (ev.kind === 'nat' && ev.text.startsWith('conntrack confirmed')) return true;
  return false;
}

/** Streams hop lines to a writer (e.g. stdout), optionally only events of some flows. */
export class TextHopSink implements HopSink {
  lines = 0;
  constructor(
    private readonly write: (line: string) => void,
    private readonly flows?: ReadonlySet<number>,
    /** Also print routine events (see isRoutineHop). */
    private readonly verbose = true,
  ) {}

  hop(ev: HopEvent): void {
    if (this.flows !== undefined && ev.flow !== 0 && !this.flows.has(ev.flow)) return;
    if (!this.verbose && isRoutineHop(ev)) return;
    this.lines++;
    this.write(formatHopLine(ev));
  }
}

/** Collects hop events as JSON objects. */
export class JsonHopSink implements HopSink {
  readonly events: HopJson[] = [];
  hop(ev: HopEvent): void {
    this.events.push(hopToJson(ev));
  }
}

/** Pads a table of strings into aligned columns. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
