/**
 * Text and JSON renderings of hop events and probe results. JSON field names here are the
 * stable, documented schema (README "JSON output").
 */
import type { HopBase, HopBody, HopEvent } from '../events/hop.js';
import type { HopSink } from '../events/tracer.js';
import { hopText } from './hop-text.js';
import type { FrameDissection } from '../wire/dissect.js';

/** Milliseconds with microsecond precision: `12.345`. */
export function formatMs(t: number): string {
  return (t / 1e6).toFixed(3);
}

/** One hop as a text line: time (ms), namespace, device, kind, description. */
export function formatHopLine(ev: HopEvent): string {
  return `${formatMs(ev.t).padStart(10)}  ${ev.where.padEnd(14)} ${(ev.dev ?? '').padEnd(13)} ${ev.kind.padEnd(7)} ${hopText(ev)}`;
}

/** Header line matching formatHopLine's columns. */
export const HOP_HEADER = `${'TIME(ms)'.padStart(10)}  ${'WHERE'.padEnd(14)} ${'DEVICE'.padEnd(13)} ${'EVENT'.padEnd(7)} DETAILS`;

/** The JSON schema name of hop events (README "JSON output"). */
export const HOP_SCHEMA = 'podnet.trace/v2';

/**
 * The JSON form of a hop event (schema `podnet.trace/v2`): time and place, the description a
 * person reads (`text`), then the event's own typed fields (README "JSON output").
 */
export type HopJson = {
  readonly t_ns: number;
  readonly where: string;
  readonly dev: string | null;
  readonly packet: number | null;
  readonly flow: number;
  readonly text: string;
  /** tx/rx events: the frame decoded layer by layer. */
  readonly frame?: FrameDissection | undefined;
} & HopBody;

/** Converts a hop event to its JSON form. */
export function hopToJson(ev: HopEvent): HopJson {
  const { t, where, dev, pkt, flow, kind, ...fields } = ev as HopBase & HopBody;
  return { t_ns: t, kind, where, dev: dev ?? null, packet: pkt ?? null, flow, text: hopText(ev), ...fields } as HopJson;
}

/**
 * Events a person rarely needs: chain traversals that matched nothing decisive and ended in an
 * ACCEPT policy, and conntrack confirmations.
 */
export function isRoutineHop(ev: HopEvent): boolean {
  if (ev.kind === 'nf' && ev.what === 'traversal') return ev.policy && ev.verdict === 'ACCEPT';
  return ev.kind === 'nat' && ev.what === 'confirm' && ev.clash === undefined;
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
