/**
 * Splits YAML text into Kubernetes-style objects: multi-document streams, `kind: List` (and
 * `PodList`-style lists, whose items may omit kind/apiVersion), with YAML syntax errors and
 * duplicate keys reported at their positions.
 */
import { LineCounter, parseAllDocuments, type Document, type YAMLError } from 'yaml';
import { looksLikeJson, parseJsonFast } from './json-fast.js';
import type { SourceRef } from '../model.js';
import type { DiagnosticSink } from './diagnostics.js';
import { Field, type DocContext } from './field.js';
import { quote } from './values.js';

/** One object (a document, or an item of a List) ready for its kind's reader. */
export interface KubeObject {
  readonly kind: string;
  readonly apiVersion: unknown;
  /** `metadata.name` when it is a string (validated later by the reader). */
  readonly name: string | undefined;
  /** `metadata.namespace` when it is a string (validated later by the reader). */
  readonly namespace: string | undefined;
  /** The object's root mapping; its object label is set by the caller via `withObject`. */
  readonly root: Field;
  readonly source: SourceRef;
}

/** A document that could not be read as an object, kept so references to it do not cascade. */
export interface BrokenObject {
  readonly kind: string | undefined;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
}

export interface ParsedText {
  readonly objects: KubeObject[];
  readonly broken: BrokenObject[];
}

/** Errors that leave the document structurally intact; such documents are still validated. */
const SOFT_CODES = new Set<string>(['DUPLICATE_KEY']);

const MAX_LIST_DEPTH = 8;

function yamlMessage(e: YAMLError, text: string): string {
  switch (e.code) {
    case 'TAB_AS_INDENT':
      return 'YAML: tab character used for indentation (YAML allows only spaces)';
    case 'DUPLICATE_KEY': {
      const rest = text.slice(e.pos[0]).split('\n')[0] ?? '';
      const key = (/^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[^:,{}]*)/.exec(rest)?.[1] ?? '').trim().replace(/^["']|["']$/g, '');
      return `YAML: duplicate key${key !== '' ? ` ${quote(key)}` : ''} (map keys must be unique)`;
    }
    default: {
      const first = e.message.split('\n')[0] ?? e.message;
      return `YAML: ${first.replace(/ at line \d+, column \d+.*$/, '')}`;
    }
  }
}

/**
 * The longest line the YAML parser is given: 3 MiB, the API server's limit on a whole request
 * (MaxRequestBodyBytes), so no field of a real object is longer. The YAML parser needs about 45
 * bytes of memory per byte of a long quoted string; past this a file is refused before parsing.
 */
export const MAX_YAML_LINE = 3 * 1024 * 1024;

/** The 1-based number of the first line longer than `max` characters, if any. */
function longLine(text: string, max: number): number | undefined {
  if (text.length <= max) return undefined;
  let start = 0;
  for (let n = 1; start <= text.length; n++) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (end - start > max) return n;
    if (nl < 0) return undefined;
    start = nl + 1;
  }
  return undefined;
}

/** Parses one file's text. Syntax errors go to the sink; broken documents are skipped. */
export function parseText(
  text: string,
  file: string,
  sink: DiagnosticSink,
  opts: { readonly fastJson?: boolean } = {},
): ParsedText {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const objects: KubeObject[] = [];
  const broken: BrokenObject[] = [];
  sink.addFile(file);
  // JSON (kubectl get -o json) takes the fast path; anything else, or JSON it rejects, is YAML
  const fast = opts.fastJson !== false && looksLikeJson(body) ? parseJsonFast(body) : undefined;
  if (fast === undefined) {
    const long = longLine(body, MAX_YAML_LINE);
    if (long !== undefined) {
      sink.add({
        severity: 'error',
        file,
        line: long,
        col: 1,
        object: undefined,
        path: undefined,
        message: `YAML: a line longer than ${MAX_YAML_LINE / (1024 * 1024)} MiB, the most podnet's YAML reader takes (the API server takes no object over 3 MiB; README "Limits")`,
      });
      return { objects, broken };
    }
  }
  const lines = fast?.lines ?? new LineCounter();
  const docs =
    fast !== undefined
      ? [fast.doc]
      : parseAllDocuments(body, {
          lineCounter: lines,
          keepSourceTokens: true,
          prettyErrors: false,
          uniqueKeys: true,
          merge: true,
          strict: true,
        });
  const posOf = (offset: number): { line: number; col: number } => {
    if (lines.lineStarts.length === 0) return { line: 1, col: 1 };
    const p = lines.linePos(offset);
    return { line: Math.max(1, p.line), col: Math.max(1, p.col) };
  };
  for (const d of fast?.duplicates ?? []) {
    const p = posOf(d.offset);
    sink.add({
      severity: 'error',
      file,
      line: p.line,
      col: p.col,
      object: undefined,
      path: undefined,
      message: `JSON: duplicate key ${quote(d.key)} (object keys must be unique)`,
    });
  }
  for (const doc of docs) {
    let hard = false;
    for (const e of doc.errors) {
      const p = posOf(e.pos[0]);
      sink.add({
        severity: 'error',
        file,
        line: p.line,
        col: p.col,
        object: undefined,
        path: undefined,
        message: yamlMessage(e, body),
      });
      if (!SOFT_CODES.has(e.code)) hard = true;
    }
    for (const w of doc.warnings) {
      const p = posOf(w.pos[0]);
      sink.add({
        severity: 'notice',
        file,
        line: p.line,
        col: p.col,
        object: undefined,
        path: undefined,
        message: yamlMessage(w, body),
      });
    }
    const ctx: DocContext = { file, lines, doc: doc as Document, sink };
    const root = Field.root(ctx, doc.contents, undefined);
    if (hard) {
      // Whatever can still be read identifies what the document might have declared; a broken
      // List could have held anything.
      const kind = root.rawStr('kind');
      const isList = kind?.endsWith('List');
      broken.push({
        kind: isList ? undefined : kind,
        name: isList ? undefined : root.rawStr('metadata.name'),
        namespace: root.rawStr('metadata.namespace'),
      });
      continue;
    }
    // Empty documents (`---` alone, only comments, or an explicit null) are skipped.
    if (!root.present) continue;
    collectObject(root, undefined, 0, objects, broken);
  }
  return { objects, broken };
}

/** Reads kind/apiVersion of one object (expanding Lists) into `out`. */
function collectObject(
  root: Field,
  listKind: { kind: string | undefined; apiVersion: unknown } | undefined,
  depth: number,
  out: KubeObject[],
  broken: BrokenObject[],
): void {
  if (!root.isMap) {
    root.error(
      listKind === undefined
        ? `expected a mapping with apiVersion and kind (a Kubernetes object), got ${root.describe()}`
        : `expected a list item to be a mapping with apiVersion and kind (a Kubernetes object), got ${root.describe()}`,
    );
    return;
  }
  const kindField = root.child('kind');
  let kind: string | undefined;
  let apiVersion: unknown = root.raw('apiVersion');
  if (!kindField.present && listKind?.kind !== undefined) {
    // Items of a typed list (PodList, …) as the API returns them carry no kind.
    kind = listKind.kind;
    if (apiVersion === undefined) apiVersion = listKind.apiVersion;
  } else {
    if (!kindField.present) {
      kindField.error(
        kindField.node === undefined
          ? 'missing required field (every object needs apiVersion and kind, e.g. kind: Pod)'
          : 'expected the object kind (e.g. Pod), got null',
      );
    } else kind = root.str('kind', { check: (k) => (k === '' ? 'a kind such as Pod' : undefined) });
    if (kind === undefined) {
      // A nameless object cannot be referenced, so it cannot hide other objects' errors.
      const name = root.rawStr('metadata.name');
      if (name !== undefined) broken.push({ kind: undefined, name, namespace: root.rawStr('metadata.namespace') });
      return;
    }
  }
  if (kind === 'List' || (kind.endsWith('List') && root.child('items').present)) {
    if (depth >= MAX_LIST_DEPTH) {
      root.error(`Lists nested deeper than ${MAX_LIST_DEPTH} levels are not supported`);
      return;
    }
    const objectLabel = `${kind}${root.rawStr('metadata.name') !== undefined ? ` ${root.rawStr('metadata.name') ?? ''}` : ''}`;
    const labelled = root.withObject(objectLabel);
    const items = labelled.list('items') ?? [];
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    for (const item of items) {
      // Each item is an object in its own right: paths restart at the item.
      const itemRoot = Field.root(item.ctx, item.node, undefined);
      if (!item.present) {
        item.error(
          `expected a list item to be a mapping with apiVersion and kind (a Kubernetes object), got ${item.describe()}`,
        );
        continue;
      }
      collectObject(itemRoot, { kind: itemKind, apiVersion }, depth + 1, out, broken);
    }
    return;
  }
  const name = root.rawStr('metadata.name');
  const namespace = root.rawStr('metadata.namespace');
  out.push({ kind, apiVersion, name, namespace, root, source: root.source() });
}
