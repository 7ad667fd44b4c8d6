/**
 * Run-time checks of what JavaScript callers pass to the exported functions: each throws an
 * {@link ArgumentError} naming the argument as the caller wrote it, so a wrong type fails at the
 * call instead of deep in the engine (or, worse, silently: a NodePort address list of strings
 * used to give rules without NodePort jumps).
 */
import { ArgumentError } from './errors.js';
import type { Cidr } from '../wire/addr.js';
import { parseIpv4, prefixMask } from '../wire/addr.js';

/** How a wrong value is shown in a message: strings quoted, objects by their kind. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}

/** Throws an {@link ArgumentError}: `<argument>: expected <expected>, got <value>`. */
export function fail(argument: string, expected: string, got: unknown): never {
  throw new ArgumentError(argument, `expected ${expected}, got ${describeValue(got)}`);
}

/** A plain object (not null, not an array). */
export function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object of options; `undefined` passes as no options. */
export function checkOptions(v: unknown, argument: string): Readonly<Record<string, unknown>> {
  if (v === undefined) return {};
  if (!isRecord(v)) fail(argument, 'an object', v);
  return v;
}

/** An object. */
export function checkRecord(v: unknown, argument: string, expected = 'an object'): Readonly<Record<string, unknown>> {
  if (!isRecord(v)) fail(argument, expected, v);
  return v;
}

/** A string. */
export function checkString(v: unknown, argument: string): string {
  if (typeof v !== 'string') fail(argument, 'a string', v);
  return v;
}

/** A string, or absent. */
export function checkOptString(v: unknown, argument: string): string | undefined {
  return v === undefined ? undefined : checkString(v, argument);
}

/** A boolean, or absent. */
export function checkOptBoolean(v: unknown, argument: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') fail(argument, 'true or false', v);
  return v;
}

/** An integer in [min, max], or absent. */
export function checkOptInteger(
  v: unknown,
  argument: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range =
      min === Number.MIN_SAFE_INTEGER ? '' : max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` ${min}–${max}`;
    fail(argument, `an integer${range}`, v);
  }
  return v;
}

/** A function, or absent. */
export function checkOptFunction(v: unknown, argument: string): void {
  if (v !== undefined && typeof v !== 'function') fail(argument, 'a function', v);
}

/** One of a few strings, or absent. */
export function checkOptChoice<T extends string>(v: unknown, argument: string, choices: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
    fail(argument, `one of ${choices.map((c) => `"${c}"`).join(', ')}`, v);
  return v as T;
}

/** An array (its elements are checked by the caller). */
export function checkArray(v: unknown, argument: string, expected = 'an array'): readonly unknown[] {
  if (!Array.isArray(v)) fail(argument, expected, v);
  return v as readonly unknown[];
}

/** A duration: nanoseconds or text such as `10ms` (whether the text parses is the flow's concern), or absent. */
export function checkOptDuration(v: unknown, argument: string): void {
  if (v !== undefined && typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v)))
    fail(argument, 'a duration (nanoseconds, or text such as "10ms")', v);
}

/** Objects with these methods (sinks): each element needs every named method. */
export function checkOptSinks(v: unknown, argument: string, methods: readonly string[]): void {
  if (v === undefined) return;
  const what = `an array of objects with ${methods.map((m) => `${m}()`).join(', ')}`;
  checkArray(v, argument, what).forEach((s, i) => {
    if (!isRecord(s) || methods.some((m) => typeof s[m] !== 'function'))
      fail(`${argument}[${i}]`, `an object with ${methods.map((m) => `${m}()`).join(', ')}`, s);
  });
}

/**
 * A CIDR: `172.18.0.0/24` or `{ addr, len }` (addr an IPv4 address as an unsigned 32-bit
 * integer). Host bits are cleared, as kube-proxy reads `--nodeport-addresses 172.18.0.2/24`.
 */
export function checkCidr(v: unknown, argument: string): Cidr {
  if (typeof v === 'string') {
    const m = /^([^/]+)\/(\d{1,2})$/.exec(v.trim());
    const ip = m === null ? undefined : parseIpv4(m[1]!);
    const len = m === null ? 33 : Number(m[2]);
    if (ip === undefined || len > 32) fail(argument, 'a CIDR such as "172.18.0.0/24" or { addr, len }', v);
    return { addr: (ip & prefixMask(len)) >>> 0, len };
  }
  if (isRecord(v)) {
    const { addr, len } = v;
    if (
      typeof addr === 'number' &&
      Number.isInteger(addr) &&
      addr >= 0 &&
      addr <= 0xffffffff &&
      typeof len === 'number' &&
      Number.isInteger(len) &&
      len >= 0 &&
      len <= 32
    ) {
      return { addr: (addr & prefixMask(len)) >>> 0, len };
    }
  }
  return fail(argument, 'a CIDR such as "172.18.0.0/24" or { addr, len }', v);
}
