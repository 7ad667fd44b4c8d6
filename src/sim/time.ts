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

const UNIT_NS: Record<string, number> = { ns: 1, us: NS_PER_US, µs: NS_PER_US, ms: NS_PER_MS, s: NS_PER_S };

/**
 * Parses a duration such as `100us`, `2.5ms`, `5s` or a bare number of nanoseconds; returns undefined when malformed.
 */
export function parseDuration(text: string | number): Nanos | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = UNIT_NS[m[2] ?? 'ns'];
  if (unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
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
