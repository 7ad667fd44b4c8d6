/**
 * The kernel's flow hash (skb_get_hash via the flow dissector): symmetric in the two
 * directions of a flow (flow_hash_consistentify sorts addresses and ports) and keyed by a
 * per-boot random seed. ICMP hashes on addresses and protocol only.
 */
import { ETHERTYPE_IPV4, ETH_HLEN } from '../wire/ethernet.js';

function mix(h: number, v: number): number {
  h = (h ^ v) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Symmetric flow hash of an Ethernet frame; never 0. */
export function flowHash(seed: number, buf: Uint8Array, off: number, len: number): number {
  let h = seed >>> 0;
  const type = len >= ETH_HLEN ? (buf[off + 12]! << 8) | buf[off + 13]! : 0;
  if (type === ETHERTYPE_IPV4 && len >= ETH_HLEN + 20) {
    const l3 = off + ETH_HLEN;
    const ihl = (buf[l3]! & 0x0f) * 4;
    const proto = buf[l3 + 9]!;
    const src = ((buf[l3 + 12]! << 24) | (buf[l3 + 13]! << 16) | (buf[l3 + 14]! << 8) | buf[l3 + 15]!) >>> 0;
    const dst = ((buf[l3 + 16]! << 24) | (buf[l3 + 17]! << 16) | (buf[l3 + 18]! << 8) | buf[l3 + 19]!) >>> 0;
    const fragField = ((buf[l3 + 6]! & 0x3f) << 8) | buf[l3 + 7]!;
    let ports = 0;
    if ((proto === 6 || proto === 17) && (fragField & 0x1fff) === 0 && len >= ETH_HLEN + ihl + 4) {
      const sp = (buf[l3 + ihl]! << 8) | buf[l3 + ihl + 1]!;
      const dp = (buf[l3 + ihl + 2]! << 8) | buf[l3 + ihl + 3]!;
      // consistentify: order the (addr, port) pairs so both directions hash alike
      ports = src < dst || (src === dst && sp <= dp) ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0;
    }
    h = mix(h, Math.min(src, dst));
    h = mix(h, Math.max(src, dst));
    h = mix(h, ports);
    h = mix(h, proto);
  } else {
    // no L3 keys: jhash of the MAC pair, as vxlan falls back to
    for (let i = 0; i < 12 && i < len; i += 4) {
      h = mix(
        h,
        ((buf[off + i]! << 24) | (buf[off + i + 1]! << 16) | (buf[off + i + 2]! << 8) | buf[off + i + 3]!) >>> 0,
      );
    }
  }
  return h === 0 ? 1 : h;
}
