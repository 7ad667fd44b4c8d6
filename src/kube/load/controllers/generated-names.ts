/**
 * The names and hashes controllers generate, deterministically: SHA-256 of a key (so nothing
 * depends on the platform or on the order objects were read in) where the apiserver would draw at
 * random, generateName-style suffixes (`web-x7k2p`, from the seed where the real ones are random),
 * and the Deployment controller's pod-template-hash.
 */
import { createHash } from 'node:crypto';

/** A 48-bit hash of `key` (the first six bytes of its SHA-256). */
export function stableHash(key: string): number {
  return createHash('sha256').update(key, 'utf8').digest().readUIntBE(0, 6);
}

/** The alphabet of apiserver-generated name suffixes (k8s.io/apimachinery utilrand: no vowels, no 0/1/3). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A `length`-character suffix like the apiserver's generateName adds (`web-x7k2p`), derived from `key`. */
export function stableSuffix(key: string, length = 5): string {
  const d = createHash('sha256').update(key, 'utf8').digest();
  let out = '';
  for (let i = 0; i < length; i++) out += SUFFIX_ALPHABET[(d[i] ?? 0) % SUFFIX_ALPHABET.length] ?? 'b';
  return out;
}

/**
 * `<base>-<5 chars>` as generateName builds it: the base is cut to 58 characters so that the
 * whole name stays within 63 (SimpleNameGenerator's maxGeneratedNameLength).
 */
export function generatedName(base: string, key: string): string {
  const prefix = `${base}-`;
  return `${prefix.length > 58 ? prefix.slice(0, 58) : prefix}${stableSuffix(key)}`;
}

/** A suffix drawn from the load's seed: the same seed and key give the same suffix. */
export function seededSuffix(seed: number, key: string, length = 5): string {
  return stableSuffix(`${seed}\u0000${key}`, length);
}

/** `<base>-<5 chars from the seed>`, cut as generateName cuts (see generatedName). */
export function seededName(base: string, seed: number, key: string): string {
  const prefix = `${base}-`;
  return `${prefix.length > 58 ? prefix.slice(0, 58) : prefix}${seededSuffix(seed, key)}`;
}

/** FNV-1a, 32 bits (Go's hash/fnv New32a) over the UTF-8 bytes of `text`. */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * k8s.io/apimachinery/pkg/util/rand.SafeEncodeString: every byte mapped onto the suffix alphabet
 * (no vowels, no 0/1/3), so that generated names spell no words.
 */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length] ?? 'b';
  return out;
}

/** JSON with object keys sorted at every level (undefined members dropped, as JSON does). */
export function canonicalJson(value: unknown): string {
  const norm = (v: unknown, depth: number): unknown => {
    if (depth > 64 || v === null || typeof v !== 'object') return typeof v === 'bigint' ? v.toString() : v;
    if (Array.isArray(v)) return v.map((x) => norm(x, depth + 1));
    if (v instanceof Map) return norm(Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), x])), depth);
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, norm(o[k], depth + 1)]),
    );
  };
  return JSON.stringify(norm(value, 0)) ?? 'null';
}

/**
 * The pod-template-hash of a Deployment's ReplicaSet. The Deployment controller
 * (pkg/controller/controller_utils.go ComputeHash) writes the template, after the apiserver has
 * filled in its defaults, through go-spew (`%#v`, sorted keys) into FNV-32a and returns
 * rand.SafeEncodeString of the decimal value. Reproducing Go's defaulting and spew's printing byte
 * for byte is impractical, so podnet hashes a canonical JSON of the template as written (keys
 * sorted) with the same FNV-32a and encodes the decimal the same way. The decimal is left-padded
 * with zeros to 10 digits so that every hash has 10 characters (the controller's own have 1–10,
 * usually 9 or 10, from the same ten characters "456789bcdf"). So the names look and behave like
 * the controller's (stable for an unchanged template, different for a changed one) but do not
 * equal a real cluster's; an imported cluster keeps its own names, since its ReplicaSets and
 * pods are read as they are.
 */
export function podTemplateHash(template: unknown): string {
  return safeEncodeString(String(fnv32a(canonicalJson(template))).padStart(10, '0'));
}

/**
 * Names taken per namespace, so generated names stay unique: `claim` tries `make(0)`, then
 * `make(1)`, … until a name is free. A namespace's names already in the input are asked for
 * (`taken`) the first time it is used.
 */
export class NamespacedNames {
  private readonly byNamespace = new Map<string, Set<string>>();

  constructor(private readonly taken: (namespace: string) => Iterable<string>) {}

  /** The first free name `make` gives in `namespace`, now taken. */
  claim(namespace: string, make: (attempt: number) => string): string {
    let set = this.byNamespace.get(namespace);
    if (set === undefined) this.byNamespace.set(namespace, (set = new Set(this.taken(namespace))));
    let attempt = 0;
    let name = make(attempt);
    while (set.has(name)) name = make(++attempt);
    set.add(name);
    return name;
  }
}
