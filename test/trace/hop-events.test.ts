/**
 * Hop events are typed data, and the words people read are made from them only by the sinks:
 * every event of every example topology and kernel scenario renders to a line without holes, its
 * JSON (podnet.trace/v2) carries its own fields next to that line, and the same events written as
 * pcapng comments read back as the same words.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopologyPath, formatDiagnostic } from '../../src/kube/load/index.js';
import { Simulation } from '../../src/api/simulation.js';
import type { HopEvent, HopKind } from '../../src/events/hop.js';
import type { CaptureSink, HopSink, PacketNotes } from '../../src/events/tracer.js';
import { captureComment, hopText } from '../../src/trace/hop-text.js';
import { hopToJson } from '../../src/trace/format.js';
import { MemoryCapture } from '../../src/trace/memory-capture.js';

class Collect implements HopSink {
  readonly events: HopEvent[] = [];
  hop(e: HopEvent): void {
    this.events.push(e);
  }
}

const inputs = [
  ...readdirSync('topologies').map((f) => join('topologies', f)),
  ...readdirSync('test/kernel/scenarios').map((f) => join('test/kernel/scenarios', f)),
].sort();

function run(path: string): { events: HopEvent[]; capture: MemoryCapture } {
  const r = loadTopologyPath(statSync(path).isDirectory() ? `${path}/` : path, 1);
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  const hops = new Collect();
  const capture = new MemoryCapture();
  const sim = new Simulation(r.model, { seed: 1, hopSinks: [hops], captureSinks: [capture] });
  sim.runScenario();
  return { events: hops.events, capture };
}

describe('hop events of the example topologies and kernel scenarios', () => {
  const seen = new Map<string, number>();
  it.each(inputs)('%s: every event renders without holes, and its JSON carries its fields', (path) => {
    const { events } = run(path);
    expect(events.length).toBeGreaterThan(0);
    for (const ev of events) {
      const text = hopText(ev);
      expect(text.length, JSON.stringify(ev)).toBeGreaterThan(0);
      expect(text, JSON.stringify(ev)).not.toMatch(/undefined|\[object|NaN/);
      const json = JSON.parse(JSON.stringify(hopToJson(ev))) as Record<string, unknown>;
      expect(json['text']).toBe(text);
      expect(json['kind']).toBe(ev.kind);
      expect(json['t_ns']).toBe(ev.t);
      // the typed fields are there, not only the line
      const own = Object.keys(json).filter(
        (k) => !['t_ns', 'kind', 'where', 'dev', 'packet', 'flow', 'text'].includes(k),
      );
      expect(own.length, `${ev.kind} event has fields of its own`).toBeGreaterThan(0);
      const variant =
        'what' in ev ? `${ev.kind}/${String(ev.what)}` : 'action' in ev ? `${ev.kind}/${String(ev.action)}` : ev.kind;
      seen.set(variant, (seen.get(variant) ?? 0) + 1);
    }
  });

  it('covers every kind of event', () => {
    const kinds = new Set([...seen.keys()].map((k) => k.split('/')[0] as HopKind));
    for (const k of [
      'tx',
      'rx',
      'bridge',
      'fdb',
      'route',
      'neigh',
      'arp',
      'forward',
      'encap',
      'decap',
      'deliver',
      'icmp',
      'frag',
      'nf',
      'nat',
      'drop',
      'app',
    ] as HopKind[]) {
      expect(kinds.has(k), `some input produces ${k} events`).toBe(true);
    }
  });

  it("writes a packet's events since its last capture as its pcapng comment, in the words of the trace", () => {
    const r = loadTopologyPath('topologies/clusterip.yaml', 1);
    if (r.model === undefined) throw new Error('clusterip.yaml does not load');
    const hops = new Collect();
    const notes: PacketNotes[] = [];
    const sink: CaptureSink = { addPoint: () => 0, packet: (_h, _t, _d, _b, _o, _l, n) => void notes.push(n) };
    new Simulation(r.model, { seed: 1, hopSinks: [hops], captureSinks: [sink] }).runScenario();
    const traced = new Set(hops.events.map((e) => `${e.pkt} ${hopText(e)}`));
    let noted = 0;
    for (const n of notes) {
      const comment = captureComment(n);
      expect(comment).toBe(
        [
          `${n.dir === 'out' ? 'sent by' : 'received by'} ${n.point.name}${n.point.role ? ` (${n.point.role})` : ''}`,
          ...n.events.map(hopText),
        ].join('; '),
      );
      for (const e of n.events) {
        expect(e.pkt).toBe(n.pkt);
        // a note is an event the trace printed too, except the ARP reply a stack sends (only its frame shows it)
        if (!(e.kind === 'arp' && e.what === 'reply'))
          expect(traced.has(`${e.pkt} ${hopText(e)}`), hopText(e)).toBe(true);
        noted++;
      }
    }
    expect(noted).toBeGreaterThan(100);
  });
});
