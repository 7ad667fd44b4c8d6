/**
 * Raised when bytes cannot be read as a wire format (or a repr cannot be encoded); parsers throw nothing else on bad
 * input.
 */
export class WireError extends Error {
  /** Protocol layer that rejected the bytes, e.g. `'ipv4'`, `'tcp'`. */
  readonly layer: string;

  /** Creates an error for `layer`; the message is prefixed with the layer so logs read on their own. */
  constructor(layer: string, message: string) {
    super(`${layer}: ${message}`);
    this.name = 'WireError';
    this.layer = layer;
  }
}

/**
 * True if `e` is a {@link WireError}, also when it comes from a second copy of this module (e.g. src and dist both
 * loaded).
 */
export function isWireError(e: unknown): e is WireError {
  if (e instanceof WireError) return true;
  if (typeof e !== 'object' || e === null) return false;
  const o = e as { name?: unknown; layer?: unknown; message?: unknown };
  return o.name === 'WireError' && typeof o.layer === 'string' && typeof o.message === 'string';
}

/** Throws unless `[off, off + len)` is an integer window inside `buf` holding at least `min` bytes. */
export function checkWindow(layer: string, buf: Uint8Array, off: number, len: number, min: number): void {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > buf.length) {
    throw new WireError(layer, `window [${off}, +${len}) is outside the ${buf.length}-byte buffer`);
  }
  if (len < min) throw new WireError(layer, `truncated: ${len} bytes, need at least ${min}`);
}

/** Throws unless `buf` has room for `need` bytes at `off`, since typed arrays drop out-of-range writes silently. */
export function checkRoom(layer: string, buf: Uint8Array, off: number, need: number): void {
  if (!(off >= 0 && off + need <= buf.length)) {
    throw new WireError(layer, `no room to emit ${need} bytes at offset ${off} in a ${buf.length}-byte buffer`);
  }
}
