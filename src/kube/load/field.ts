/**
 * Typed, positioned access to parsed YAML: the toolkit every reader uses.
 *
 * A `Field` wraps one YAML node (or the absence of one) together with its field path inside
 * the object (`spec.containers[0].ports[1].containerPort`), the object's display name
 * (`Pod default/web`) and the file. Accessors such as `str`, `int`, `cidr`, `list` return the
 * value, or `undefined` after recording a diagnostic at the exact position, so a reader reads
 * a whole object in one pass and reports every problem. Absent (or `null`) optional fields
 * return their default. Accessors never look at unknown fields: `knownKeys` reports them in podnet's own
 * kinds, and k8s-schema.ts in Kubernetes kinds.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Document,
  type Node as YamlNode,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { DURATION_UNITS, parseDuration, type Nanos } from '../../sim/time.js';
import type { Cidr, SourceRef } from '../model.js';
import type { DiagnosticSink } from './diagnostics.js';
import { cidrText, parseCidr, parseIpv4, quote, suggest, type Check } from './values.js';

/** Per-document context shared by all fields of one document. */
export interface DocContext {
  readonly file: string;
  readonly lines: LineCounter;
  readonly doc: Document;
  readonly sink: DiagnosticSink;
}

type Resolved = Scalar | YAMLMap | YAMLSeq;

/** "one of "a", "b"" for each list of values, made once (the lists are mostly constants, read for every object). */
const ONE_OF_TEXT = new WeakMap<readonly string[], string>();
function oneOfText(values: readonly string[]): string {
  let t = ONE_OF_TEXT.get(values);
  if (t === undefined) {
    t = `one of ${values.map((v) => quote(v)).join(', ')}`;
    ONE_OF_TEXT.set(values, t);
  }
  return t;
}

/** Options common to the accessors: a missing required field is an error; else `default` is returned. */
export interface Opt<T> {
  readonly required?: boolean;
  readonly default?: T;
}

export interface StrOpt extends Opt<string> {
  /** Extra syntax check: returns the "expected …" phrase when the string is not acceptable. */
  readonly check?: Check;
  /** What to call the value when it is missing or not a string (default "a string"). */
  readonly expected?: string;
}

export interface DurationOpt extends Opt<Nanos> {
  /** Reject zero. */
  readonly positive?: boolean;
}

const MAX_ALIAS_DEPTH = 32;
const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function joinPath(base: string, key: string): string {
  if (SIMPLE_KEY.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

function startOf(n: YamlNode | null | undefined): number | undefined {
  const r = n?.range;
  return r ? r[0] : undefined;
}

export class Field {
  private constructor(
    readonly ctx: DocContext,
    /** Display name of the object, e.g. `Pod default/web`. */
    readonly object: string | undefined,
    /** Path inside the object; '' for the object itself. */
    readonly path: string,
    /** The node after alias resolution; undefined when the field is absent. */
    readonly node: Resolved | undefined,
    /** Where to report problems when the node is absent or empty. */
    private readonly anchor: number,
    /** Offset of this field's key (or list item), used to point at a parent when a child is missing. */
    private readonly keyOffset: number | undefined,
    /** Absent because an ancestor has the wrong type (already reported): stay quiet about it. */
    private readonly shadowed = false,
  ) {}

  /** The root of a document (or of a List item). */
  static root(ctx: DocContext, node: YamlNode | null | undefined, object: string | undefined): Field {
    const resolved = resolveNode(node, ctx.doc);
    return new Field(ctx, object, '', resolved, startOf(node) ?? 0, undefined);
  }

  /** An absent field not tied to any text (used for built-in defaults; it never reports). */
  static detached(sink: DiagnosticSink, file: string, object: string | undefined): Field {
    return new Field(
      { file, lines: new LineCounter(), doc: new Document(), sink },
      object,
      '',
      undefined,
      0,
      undefined,
    );
  }

  /** The same field under another object name (a root, once the object's name is known). */
  withObject(object: string | undefined): Field {
    return new Field(this.ctx, object, this.path, this.node, this.anchor, this.keyOffset, this.shadowed);
  }

  /**
   * This field as if it were absent, and quiet about it: for a value whose wrong type was
   * already reported, so that reading its children does not report it again.
   */
  silenced(): Field {
    return new Field(this.ctx, this.object, this.path, undefined, this.offset, this.keyOffset, true);
  }

  /** True when the field is there and not `null`. */
  get present(): boolean {
    const n = this.node;
    if (n === undefined) return false;
    return !(isScalar(n) && (n.value === null || n.value === undefined));
  }

  get isMap(): boolean {
    return this.node !== undefined && isMap(this.node);
  }

  get isList(): boolean {
    return this.node !== undefined && isSeq(this.node);
  }

  /** The source offset diagnostics about this field point at. */
  get offset(): number {
    const n = this.node;
    if (n === undefined) return this.anchor;
    const r = n.range;
    if (!r) return this.anchor;
    // An empty value (`key:` with nothing after it) points at its key.
    if (isScalar(n) && r[0] === r[1] && this.keyOffset !== undefined) return this.keyOffset;
    return r[0];
  }

  /** 1-based line and column of this field. */
  position(offset = this.offset): { line: number; col: number } {
    if (this.ctx.lines.lineStarts.length === 0) return { line: 0, col: 0 };
    const p = this.ctx.lines.linePos(offset);
    return { line: Math.max(1, p.line), col: Math.max(1, p.col) };
  }

  source(): SourceRef {
    const p = this.position();
    return { file: this.ctx.file, line: p.line, col: p.col };
  }

  // ---------------------------------------------------------------- navigation

  /** The child `key` of this mapping (absent if missing; reports if this is not a mapping). */
  child(key: string): Field {
    const path = joinPath(this.path, key);
    const fallback = this.keyOffset ?? this.offset;
    const absent = new Field(this.ctx, this.object, path, undefined, fallback, undefined, this.shadowed);
    if (!this.present) return absent;
    const n = this.node;
    if (n === undefined || !isMap(n)) {
      this.typeError('a mapping');
      return new Field(this.ctx, this.object, path, undefined, fallback, undefined, true);
    }
    const found = findPair(n, key, this.ctx.doc, 0);
    if (found === undefined) return absent;
    const keyOff = startOf(found.key) ?? fallback;
    const value = resolveNode(found.value, this.ctx.doc);
    const valueStart = startOf(found.value);
    return new Field(this.ctx, this.object, path, value, valueStart ?? keyOff, keyOff);
  }

  /** A dotted path of child keys: `at('spec.cni.vni')`; '' is this field. */
  at(path: string): Field {
    if (path === '') return this;
    let f: Field = this;
    for (const key of path.split('.')) f = f.child(key);
    return f;
  }

  /**
   * The items of a list as fields (`path[i]`); reports when present but not a list. `itemName`
   * (and `plural`, when not itemName + "s") words the messages ("a list of containers");
   * `nonEmpty` rejects an empty list.
   */
  list(
    path: string,
    opt?: {
      readonly required?: boolean;
      readonly itemName?: string;
      readonly plural?: string;
      readonly nonEmpty?: boolean;
    },
  ): Field[] | undefined {
    const f = this.at(path);
    const expected = opt?.itemName !== undefined ? `a list of ${opt.plural ?? `${opt.itemName}s`}` : 'a list';
    if (!f.present) {
      if (opt?.required === true) f.missing(expected);
      return undefined;
    }
    const n = f.node;
    if (n === undefined || !isSeq(n)) {
      f.typeError(expected);
      return undefined;
    }
    if (n.items.length === 0 && opt?.nonEmpty === true) {
      f.error(`expected at least one ${opt.itemName ?? 'item'}, got an empty list`);
      return undefined;
    }
    return n.items.map((item, i) => {
      const raw = item as YamlNode | null;
      const start = startOf(raw) ?? f.offset;
      return new Field(f.ctx, f.object, `${f.path}[${i}]`, resolveNode(raw, f.ctx.doc), start, start);
    });
  }

  /** This field as a mapping (reports when present but not a mapping); undefined when absent. */
  map(path: string, opt?: { readonly required?: boolean; readonly expected?: string }): Field | undefined {
    const f = this.at(path);
    const expected = opt?.expected ?? 'a mapping';
    if (!f.present) {
      if (opt?.required === true) f.missing(expected);
      return undefined;
    }
    if (!f.isMap) {
      f.typeError(expected);
      return undefined;
    }
    return f;
  }

  /** The key/value pairs of a mapping (merge keys expanded), keys as strings; bad keys are reported. */
  entries(path: string): Array<[string, Field]> | undefined {
    const f = this.map(path);
    if (f === undefined || f.node === undefined || !isMap(f.node)) return undefined;
    const out: Array<[string, Field]> = [];
    const seen = new Set<string>();
    const visit = (map: YAMLMap, depth: number): void => {
      const merges: unknown[] = [];
      for (const pair of map.items) {
        const rawKey = pair.key as YamlNode | null;
        if (isMergeKey(rawKey)) {
          merges.push(pair.value);
          continue;
        }
        const k = resolveNode(rawKey, f.ctx.doc);
        const keyOff = startOf(rawKey) ?? f.offset;
        if (
          k === undefined ||
          !isScalar(k) ||
          k.value === null ||
          k.value === undefined ||
          typeof k.value === 'object' ||
          typeof k.value === 'symbol'
        ) {
          const kf = new Field(f.ctx, f.object, f.path, k, keyOff, keyOff);
          kf.error(`expected string keys, got ${kf.describe()} as a key`);
          continue;
        }
        const key = String(k.value);
        if (seen.has(key)) continue;
        seen.add(key);
        const value = resolveNode(pair.value as YamlNode | null, f.ctx.doc);
        out.push([
          key,
          new Field(
            f.ctx,
            f.object,
            joinPath(f.path, key),
            value,
            startOf(pair.value as YamlNode | null) ?? keyOff,
            keyOff,
          ),
        ]);
      }
      if (depth > 8) return;
      for (const m of merges) {
        const v = resolveNode(m, f.ctx.doc);
        const sources = v !== undefined && isSeq(v) ? v.items.map((i) => resolveNode(i, f.ctx.doc)) : [v];
        for (const src of sources) if (src !== undefined && isMap(src)) visit(src, depth + 1);
      }
    };
    visit(f.node, 0);
    return out;
  }

  /**
   * Reports every key of this mapping (merge keys expanded) that is not in `known` as an error, with the
   * nearest known key as a suggestion: podnet's own kinds are strict, so a misspelt field is never silently
   * ignored. Quiet when this is absent or not a mapping (that is the reader's to report).
   */
  knownKeys(known: readonly string[], severity: 'error' | 'notice' = 'error'): void {
    const n = this.node;
    if (n === undefined || !isMap(n)) return;
    const set = new Set(known);
    for (const { key, offset } of mapKeys(n, this.ctx.doc, 0)) {
      if (set.has(key)) continue;
      const near = suggest(key, known);
      this.report(
        severity,
        `unknown field ${quote(key)}${near === undefined ? '' : ` (did you mean ${near}?)`}`,
        offset,
      );
    }
  }

  /** Reports `message` about this object (no field path) at `offset` with the given severity. */
  objectReport(severity: 'error' | 'notice', message: string, offset?: number): void {
    this.report(severity, message, offset, false);
  }

  // ---------------------------------------------------------------- typed values

  /** The scalar's JS value without any check or report (strings, numbers, booleans, null). */
  raw(path = ''): unknown {
    const n = this.peek(path);
    return n !== undefined && isScalar(n) ? n.value : undefined;
  }

  /** A string value if there is one, without reporting anything. */
  rawStr(path = ''): string | undefined {
    const v = this.raw(path);
    return typeof v === 'string' ? v : undefined;
  }

  str(path: string, opt?: StrOpt): string | undefined {
    const expected = opt?.expected ?? 'a string';
    return this.take(path, opt, expected, (f) => {
      const v = f.raw();
      if (typeof v !== 'string') return f.typeError(expected);
      const bad = opt?.check?.(v);
      if (bad !== undefined) return f.typeError(bad);
      return v;
    });
  }

  int(path: string, min: number, max: number, opt?: Opt<number>): number | undefined {
    const expected = `an integer ${min}–${max}`;
    return this.take(path, opt, expected, (f) => {
      const v = f.raw();
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return f.typeError(expected);
      return v;
    });
  }

  bool(path: string, opt?: Opt<boolean>): boolean | undefined {
    const expected = 'a boolean (true or false)';
    return this.take(path, opt, expected, (f) => {
      const v = f.raw();
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(y|yes|n|no|on|off)$/i.test(v)) {
        f.error(
          `expected ${expected}, got ${f.describe()} (YAML 1.2 reads yes/no/on/off as strings; write true or false)`,
        );
        return undefined;
      }
      return f.typeError(expected);
    });
  }

  /** One of a fixed set of strings; with `ignoreCase` the canonical spelling is returned. */
  oneOf<T extends string>(
    path: string,
    values: readonly T[],
    opt?: Opt<T> & { readonly ignoreCase?: boolean },
  ): T | undefined {
    const expected = oneOfText(values);
    return this.take(path, opt, expected, (f) => {
      const v = f.raw();
      if (typeof v !== 'string') return f.typeError(expected);
      const hit = values.find((x) => (opt?.ignoreCase === true ? x.toLowerCase() === v.toLowerCase() : x === v));
      return hit ?? f.typeError(expected);
    });
  }

  ipv4(path: string, opt?: Opt<number>): number | undefined {
    const expected = 'an IPv4 address like 172.18.0.2';
    return this.take(path, opt, expected, (f) => {
      const v = f.raw();
      const ip = typeof v === 'string' ? parseIpv4(v) : undefined;
      return ip ?? f.typeError(expected);
    });
  }

  /** An aligned IPv4 prefix; host bits set is reported with the aligned form. */
  cidr(path: string, opt?: Opt<Cidr>): Cidr | undefined {
    const expected = 'a CIDR like 10.244.0.0/16';
    return this.take(path, opt, expected, (f) => {
      const v = f.raw();
      if (typeof v !== 'string') return f.typeError(expected);
      const r = parseCidr(v);
      if (r.ok) return r.cidr;
      if (r.misaligned !== undefined) {
        f.error(`${quote(v)} has host bits set; did you mean ${cidrText(r.misaligned)}?`);
        return undefined;
      }
      return f.typeError(expected);
    });
  }

  /** A duration with a unit: `100us`, `2.5ms`, `1s`, `2m`, `1h30m` (Go's syntax); `0` needs none. */
  duration(path: string, opt?: DurationOpt): Nanos | undefined {
    const what = opt?.positive === true ? 'a positive duration' : 'a duration';
    const expected = `${what} such as 100us, 2.5ms, 1s or 2m (units ${DURATION_UNITS})`;
    return this.take(path, opt, expected, (f) => {
      const v = f.raw();
      // a YAML number is a bare number: refused like "10" (it meant nanoseconds once, silently)
      const text = typeof v === 'number' ? String(v) : v;
      if (typeof text !== 'string') return f.typeError(expected);
      const d = parseDuration(text);
      if (!d.ok) {
        f.error(d.error);
        return undefined;
      }
      if (opt?.positive === true && d.ns === 0) return f.typeError(expected);
      return d.ns;
    });
  }

  /** A mapping of strings to strings (labels, annotations) with optional key/value checks. */
  stringMap(path: string, keyCheck?: Check, valueCheck?: Check): Record<string, string> | undefined {
    const entries = this.entries(path);
    if (entries === undefined) return undefined;
    const out: Array<[string, string]> = [];
    let ok = true;
    for (const [key, vf] of entries) {
      const badKey = keyCheck?.(key);
      if (badKey !== undefined) {
        vf.error(`expected ${badKey} as the key, got ${quote(key)}`);
        ok = false;
        continue;
      }
      const v = vf.raw();
      // Kubernetes label values are strings; `null` is an empty value.
      const s = v === null ? '' : v;
      if (typeof s !== 'string') {
        vf.typeError('a string (quote numbers and booleans)');
        ok = false;
        continue;
      }
      const badValue = valueCheck?.(s);
      if (badValue !== undefined) {
        vf.typeError(badValue);
        ok = false;
        continue;
      }
      out.push([key, s]);
    }
    return ok ? Object.fromEntries(out) : undefined;
  }

  /** The plain JS value (aliases expanded); undefined with a diagnostic if it cannot be built. */
  toJS(): unknown {
    if (this.node === undefined) return undefined;
    try {
      return this.node.toJS(this.ctx.doc, { maxAliasCount: 100 }) as unknown;
    } catch (e) {
      this.error(`cannot convert to a plain value: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  // ---------------------------------------------------------------- reporting

  /** A short description of the value for "got …": `"http"`, `5`, `null`, `a list`, `a mapping`. */
  describe(): string {
    const n = this.node;
    if (n === undefined) return 'nothing';
    if (isMap(n)) return 'a mapping';
    if (isSeq(n)) return 'a list';
    const v: unknown = n.value;
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return quote(v);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    return quote(String(v));
  }

  error(message: string, offset?: number): void {
    this.report('error', message, offset);
  }

  notice(message: string): void {
    this.report('notice', message);
  }

  /**
   * A notice about the object as a whole (printed without a field path), positioned at this
   * field: `file:3:9: notice: Service default/db: has no endpoints; …`.
   */
  objectNotice(message: string): void {
    const p = this.position();
    this.ctx.sink.add({
      severity: 'notice',
      file: this.ctx.file,
      line: p.line,
      col: p.col,
      object: this.object,
      path: undefined,
      message,
    });
  }

  /** Reports `expected X, got Y` and returns undefined (for use in accessor bodies). */
  typeError(expected: string): undefined {
    this.error(`expected ${expected}, got ${this.describe()}`);
    return undefined;
  }

  /** Reports a missing required field (or an explicit null). */
  missing(expected: string): void {
    if (this.shadowed) return;
    if (this.node !== undefined) this.typeError(expected);
    else this.error(`missing required field, expected ${expected}`);
  }

  /** Adds a diagnostic at `offset` (default: this field's), with this field's path unless `withPath` is false. */
  private report(severity: 'error' | 'notice', message: string, offset?: number, withPath = true): void {
    const p = this.position(offset ?? this.offset);
    this.ctx.sink.add({
      severity,
      file: this.ctx.file,
      line: p.line,
      col: p.col,
      object: this.object,
      path: !withPath || this.path === '' ? undefined : this.path,
      message,
    });
  }

  private peek(path: string): Resolved | undefined {
    // Lenient navigation: never reports.
    let n: Resolved | undefined = this.node;
    if (path === '') return n;
    for (const key of path.split('.')) {
      if (n === undefined || !isMap(n)) return undefined;
      const pair = findPair(n, key, this.ctx.doc, 0);
      n = pair === undefined ? undefined : resolveNode(pair.value, this.ctx.doc);
    }
    return n;
  }

  private take<T>(
    path: string,
    opt: Opt<T> | undefined,
    expected: string,
    convert: (f: Field) => T | undefined,
  ): T | undefined {
    const f = this.at(path);
    if (!f.present) {
      if (opt?.required === true) f.missing(expected);
      else return opt?.default;
      return undefined;
    }
    return convert(f);
  }
}

/** A YAML 1.1 merge key (`<<`), as the parser resolves it with `merge: true`. */
function isMergeKey(k: unknown): boolean {
  if (!isScalar(k)) return false;
  const v: unknown = k.value;
  return typeof v === 'symbol' && v.description === '<<';
}

/** Follows aliases to the anchored node (bounded, so cycles cannot hang). */
function resolveNode(n: unknown, doc: Document): Resolved | undefined {
  let cur: unknown = n;
  for (let i = 0; i < MAX_ALIAS_DEPTH && isAlias(cur); i++) {
    try {
      cur = cur.resolve(doc);
    } catch {
      return undefined;
    }
  }
  if (isScalar(cur) || isMap(cur) || isSeq(cur)) return cur;
  return undefined;
}

/** Finds `key` in a mapping, then in YAML merge keys (`<<: *base`). */
function findPair(
  map: YAMLMap,
  key: string,
  doc: Document,
  depth: number,
): { key: YamlNode | null; value: YamlNode | null } | undefined {
  for (const pair of map.items) {
    const k = pair.key as unknown;
    if (
      isScalar(k) &&
      k.value !== null &&
      k.value !== undefined &&
      typeof k.value !== 'symbol' &&
      String(k.value) === key
    ) {
      return { key: k, value: pair.value as YamlNode | null };
    }
  }
  if (depth > 8) return undefined;
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const v = resolveNode(pair.value, doc);
    const sources = v !== undefined && isSeq(v) ? v.items.map((i) => resolveNode(i, doc)) : [v];
    for (const s of sources) {
      if (s === undefined || !isMap(s)) continue;
      const hit = findPair(s, key, doc, depth + 1);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

/** The string keys of a mapping and their offsets, merge keys expanded (bounded depth); others are skipped. */
function mapKeys(map: YAMLMap, doc: Document, depth: number): Array<{ key: string; offset: number | undefined }> {
  const out: Array<{ key: string; offset: number | undefined }> = [];
  for (const pair of map.items) {
    const k = pair.key as unknown;
    if (isMergeKey(k)) {
      if (depth > 8) continue;
      const v = resolveNode(pair.value, doc);
      const sources = v !== undefined && isSeq(v) ? v.items.map((i) => resolveNode(i, doc)) : [v];
      for (const s of sources) if (s !== undefined && isMap(s)) out.push(...mapKeys(s, doc, depth + 1));
      continue;
    }
    const r = resolveNode(k, doc);
    if (r === undefined || !isScalar(r)) continue;
    const v: unknown = r.value;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    out.push({ key: String(v), offset: startOf(k as YamlNode) });
  }
  return out;
}
