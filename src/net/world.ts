/**
 * The emulated world: one scheduler, one seeded RNG, one tracer, and the network
 * namespaces built into it. Devices and stacks reach time and randomness only through it.
 */
import { Scheduler } from '../sim/scheduler.js';
import { Rng } from '../sim/rng.js';
import { Tracer } from '../events/tracer.js';
import { Packet } from './packet.js';
import type { NetNs } from './netns.js';

/** Shared context of one simulation run. */
export class World {
  readonly sched = new Scheduler();
  readonly tracer: Tracer;
  /** Root RNG; components fork named streams from it so their draws stay independent. */
  readonly rng: Rng;
  readonly namespaces = new Map<string, NetNs>();
  /** UDP ports that carry VXLAN (for decoding inner frames in traces). */
  vxlanPorts: readonly number[] = [8472];
  private packetIds = 1;
  /** Echo requests answered by a kernel, per probe flow (flow 0 is not counted). */
  readonly echoAnswered = new Map<number, number>();
  /** Per-boot seed of the kernel flow dissector hash (hashrnd). */
  readonly flowHashSeed: number;
  /**
   * One kernel plays every node, joined by a veth + bridge underlay, as in `podnet verify
   * --kernel`'s harness: per-skb state that a physical wire would end (dst_pending_confirm, the
   * TCP neighbour confirmation) crosses from node to node. Off by default: nodes of a real
   * cluster are separate machines.
   */
  sharedKernel = false;

  /**
   * The root state namespaces fork their streams from: a copy of the root RNG taken before
   * anything draws from it, so a namespace built later (a lazily built pod) gets the same
   * stream as when it is built up front.
   */
  readonly netnsRngBase: Rng;

  constructor(readonly seed: number) {
    this.rng = new Rng(seed, 'world');
    this.netnsRngBase = this.rng.clone();
    this.flowHashSeed = this.rng.fork('flow-hash').nextU32();
    this.tracer = new Tracer(() => this.sched.now);
  }

  /** Current virtual time (ns). */
  get now(): number {
    return this.sched.now;
  }

  /** Allocates a packet with a fresh id. */
  allocPacket(len: number, flow = 0): Packet {
    return Packet.alloc(len, this.packetIds++, flow);
  }

  /** Copies a packet under a fresh id. */
  clonePacket(p: Packet): Packet {
    return p.clone(this.packetIds++);
  }

  /** Registers a namespace under its unique name. */
  addNamespace(ns: NetNs): void {
    if (this.namespaces.has(ns.name)) throw new Error(`duplicate network namespace ${ns.name}`);
    this.namespaces.set(ns.name, ns);
  }
}
