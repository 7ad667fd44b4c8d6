/** Wire formats of podnet: zero-copy views, reprs, checksums and a frame dissector. */
export * from './errors.js';
export * from './addr.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './udp.js';
export * from './tcp.js';
export * from './vxlan.js';
export * from './dns.js';
export * from './dissect.js';
