/** Virtual time: integer nanoseconds since the start of a simulation (a JS number, exact to 2^53 ns ≈ 104 days). */
export type Nanos = number;

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

/** Microseconds to nanoseconds. */
export const us = (n: number): Nanos => Math.round(n * NS_PER_US);
/** Milliseconds to nanoseconds. */
export const ms = (n: number): Nanos => Math.round(n * NS_PER_MS);
/** Seconds to nanoseconds. */
export const sec = (n: number): Nanos => Math.round(n * NS_PER_S);

const NS_PER_MIN = 60 * NS_PER_S;
const NS_PER_HOUR = 60 * NS_PER_MIN;
const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: NS_PER_US,
  µs: NS_PER_US,
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: NS_PER_MIN,
  h: NS_PER_HOUR,
};

/** The units a duration may be written in, as messages list them. */
export const DURATION_UNITS = 'ns, us (or µs), ms, s, m, h';

/** The longest duration: virtual time is exact to 2^53 ns, about 104 days (2501h). */
export const MAX_DURATION: Nanos = Number.MAX_SAFE_INTEGER;

/** The limit as messages state it. */
export const MAX_DURATION_TEXT = `${Math.floor(MAX_DURATION / NS_PER_HOUR)}h (about ${Math.floor(MAX_DURATION / (24 * NS_PER_HOUR))} days)`;

/** A parsed duration, or why the text is not one (a phrase that completes "expected …, got …" is not needed). */
export type DurationParse = { readonly ok: true; readonly ns: Nanos } | { readonly ok: false; readonly error: string };

// Go's time.ParseDuration syntax (as kubectl and Kubernetes write durations): one or more decimal
// numbers each with a unit, e.g. 300ms, 1.5h, 2h45m; no sign (a duration here is never negative)
const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Parses a duration written with units (`100us`, `2.5ms`, `5s`, `2m`, `1h30m`); `0` needs none, as in
 * Go. A bare number is refused: it meant nanoseconds once, and `--timeout 10` read as 10ns surprised.
 */
export function parseDuration(text: string): DurationParse {
  const t = text.trim();
  const units = `units ${DURATION_UNITS}`;
  if (/^\d+(?:\.\d*)?$|^\.\d+$/.test(t)) {
    if (Number(t) === 0) return { ok: true, ns: 0 };
    return { ok: false, error: `"${t}" has no unit: write e.g. ${t}s or ${t}ms (${units})` };
  }
  let ns = 0;
  let at = 0;
  TERM.lastIndex = 0;
  while (at < t.length) {
    TERM.lastIndex = at;
    const m = TERM.exec(t);
    if (m === null || t.length === 0) break;
    ns += Number(m[1]) * UNIT_NS[m[2]!]!;
    at = TERM.lastIndex;
  }
  if (t.length === 0 || at < t.length)
    return { ok: false, error: `expected a duration such as 200ms, 1.5s, 2m or 1h30m (${units}), got "${t}"` };
  const rounded = Math.round(ns);
  if (!(rounded <= MAX_DURATION)) return { ok: false, error: `"${t}" is longer than the limit, ${MAX_DURATION_TEXT}` };
  return { ok: true, ns: rounded };
}

/** A duration from the library: a number is nanoseconds (documented in `Duration`); text is parsed as above. */
export function durationValue(v: string | number): DurationParse {
  if (typeof v === 'string') return parseDuration(v);
  if (!Number.isFinite(v) || v < 0) return { ok: false, error: `expected a duration, got ${v}` };
  const ns = Math.round(v);
  if (ns > MAX_DURATION) return { ok: false, error: `${v}ns is longer than the limit, ${MAX_DURATION_TEXT}` };
  return { ok: true, ns };
}

/** Formats a time as seconds with nanosecond precision, e.g. `1.000123456`. */
export function formatSeconds(t: Nanos): string {
  const s = Math.floor(t / NS_PER_S);
  const frac = t - s * NS_PER_S;
  return `${s}.${String(frac).padStart(9, '0')}`;
}

/** Formats a duration compactly for people: `12.3µs`, `1.5ms`, `2s`. */
export function formatDuration(d: Nanos): string {
  if (d < NS_PER_US) return `${d}ns`;
  if (d < NS_PER_MS) return `${trim(d / NS_PER_US)}µs`;
  if (d < NS_PER_S) return `${trim(d / NS_PER_MS)}ms`;
  return `${trim(d / NS_PER_S)}s`;
}

function trim(x: number): string {
  return String(Math.round(x * 1000) / 1000);
}
