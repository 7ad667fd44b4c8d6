/**
 * A deliberately broken kube-proxy: its KUBE-SEP chains forget the hairpin masquerade
 * (`-s <endpoint>/32 -j KUBE-MARK-MASQ`). The shipped invariants catch it, fast-check shrinks the
 * failure to one node and one pod reaching its own Service, and the printed command replays it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { hopToJson, loadTopology } from 'podnet';
import {
  findCounterexample,
  forgetHairpinMasquerade,
  ruleMutation,
  scenarioArb,
  standardInvariants,
  deliveredToOneReadyEndpoint,
} from 'podnet/testing';

describe('a kube-proxy that forgets the hairpin masquerade', () => {
  test('is caught with a shrunk counterexample whose printed command replays it', () => {
    const cx = findCounterexample(scenarioArb(), standardInvariants, {
      mutate: forgetHairpinMasquerade,
      numRuns: 500,
      seed: 1,
    });
    expect(cx).toBeDefined();
    const run = cx!.run!;
    console.log(cx!.report.split('\n').slice(0, 40).join('\n'));

    // shrunk to the essence: one node, a pod dialling its own Service, which has that pod as its endpoint
    expect(run.model.nodes).toHaveLength(1);
    expect(run.flow.source.kind).toBe('pod');
    expect(cx!.explanation).toContain(run.flow.source.name);
    expect(run.flow.replied).toBe(false);
    expect(Object.keys(run.rules)).toEqual(['node1']);
    expect(cx!.command).toMatch(
      /^npx podnet trace \S+topology\.yaml --seed \d+ --from \S+ --to \S+ .*--iptables-save \S+node1\.rules --node node1$/,
    );

    // the files are what the command reads: the topology loads to the model the run used
    const reloaded = loadTopology(cx!.topologyPath, { seed: cx!.scenario.seed });
    expect(reloaded.pods.map((p) => `${p.name} ${p.ip}`)).toEqual(run.model.pods.map((p) => `${p.name} ${p.ip}`));
    expect(readFileSync(cx!.rules!.path, 'utf8')).toBe(run.rules['node1']);

    // replay: the printed command, as a person would paste it, gives the same result and the same hops
    // podnet trace exits 1 when the connection was not answered, as ping and curl do: the bug replays
    const replayed = spawnSync(`${cx!.command} --json`, {
      shell: true,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(replayed.status).toBe(1);
    const out = replayed.stdout;
    const replay = JSON.parse(out) as { result: unknown; events: Array<{ text: string }> };
    expect(replay.result).toEqual(JSON.parse(JSON.stringify(run.flow.report)));
    expect(replay.events.map((e) => e.text)).toEqual(run.result.hops.map((h) => hopToJson(h).text));
  });

  test('the unbroken kube-proxy passes the same search', () => {
    expect(findCounterexample(scenarioArb(), standardInvariants, { numRuns: 500, seed: 1 })).toBeUndefined();
  });

  test('a mutation of your own: DNAT to the wrong target port is caught too', () => {
    // every DNAT goes one port too high: the endpoint's port is closed, connections are refused
    const offByOne = ruleMutation('DNAT one port too high', (dump) =>
      dump.replace(
        /--to-destination (\d+\.\d+\.\d+\.\d+):(\d+)/g,
        (_m, ip: string, port: string) => `--to-destination ${ip}:${Number(port) + 1}`,
      ),
    );
    const cx = findCounterexample(scenarioArb({ flows: ['pod-to-service'] }), deliveredToOneReadyEndpoint, {
      mutate: offByOne,
      numRuns: 100,
      seed: 2,
    });
    expect(cx).toBeDefined();
    expect(cx!.explanation).toMatch(
      /was not answered \((Connection refused|Connection timed out|no reply|Destination Port Unreachable)/,
    );
  });
});
