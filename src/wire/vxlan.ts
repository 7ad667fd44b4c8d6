import { checkRoom, checkWindow } from './errors.js';

/** Length of a VXLAN header. */
export const VXLAN_HLEN = 8;
/** The I flag: the VNI field is valid (RFC 7348). */
export const VXLAN_FLAG_I = 0x08;
/** UDP port Linux (and flannel) use for VXLAN by default. */
export const VXLAN_PORT_LINUX = 8472;
/** IANA-assigned VXLAN UDP port. */
export const VXLAN_PORT_IANA = 4789;

/** Zero-copy view of a VXLAN header at `buf[off]`; the inner Ethernet frame follows at payloadOffset. */
export class VxlanView {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the header inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link VxlanView.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /** Wraps after checking that the 8-byte header is present (flags are not validated). */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): VxlanView {
    checkWindow('vxlan', buf, off, len, VXLAN_HLEN);
    return new VxlanView(buf, off);
  }

  /** Flags byte (0x08 = I flag). */
  get flags(): number {
    return this.buf[this.off]!;
  }
  set flags(v: number) {
    this.buf[this.off] = v;
  }

  /** 24-bit VXLAN network identifier. */
  get vni(): number {
    return (this.buf[this.off + 4]! << 16) | (this.buf[this.off + 5]! << 8) | this.buf[this.off + 6]!;
  }
  set vni(v: number) {
    this.buf[this.off + 4] = v >>> 16;
    this.buf[this.off + 5] = v >>> 8;
    this.buf[this.off + 6] = v;
  }

  /** Offset of the inner Ethernet frame. */
  get payloadOffset(): number {
    return this.off + VXLAN_HLEN;
  }
}

/** Field values of a VXLAN header. */
export interface VxlanRepr {
  vni: number;
}

/** Reads the VNI out of a view. */
export function parseVxlan(view: VxlanView): VxlanRepr {
  return { vni: view.vni };
}

/** Writes an 8-byte header (flags 0x08, reserved bytes zero); returns 8. */
export function emitVxlan(repr: VxlanRepr, buf: Uint8Array, off: number): number {
  checkRoom('vxlan', buf, off, VXLAN_HLEN);
  buf[off] = VXLAN_FLAG_I;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = repr.vni >>> 16;
  buf[off + 5] = repr.vni >>> 8;
  buf[off + 6] = repr.vni;
  buf[off + 7] = 0;
  return VXLAN_HLEN;
}
