/** The CLI as users run it: exit codes, errors without stack traces, pipes, atomic output. */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');

function podnet(
  args: string[],
  opts: { cwd?: string; input?: string } = {},
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? process.cwd(),
    input: opts.input ?? '',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!existsSync(CLI))('podnet CLI', () => {
  test('--help lists the commands and trace --help teaches with examples', () => {
    const top = podnet(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['trace', 'run', 'validate']) expect(top.stdout).toContain(c);
    const trace = podnet(['trace', '--help']);
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain('--from');
    expect(trace.stdout).toContain('Examples:');
  });

  test('a bare `podnet trace` traces the built-in topology: ARP, bridge, routing, VXLAN encap and decap, TTL 62', () => {
    const r = podnet(['trace']);
    expect(r.code).toBe(0);
    for (const kind of [' arp ', ' bridge ', ' forward ', ' encap ', ' decap ', ' route '])
      expect(r.stdout).toContain(kind);
    expect(r.stdout).toContain('TTL 64→63');
    expect(r.stdout).toContain('TTL 63→62');
    // client is 10.244.0.4: the built-in cluster's CoreDNS pods hold .2 and .3 on node1
    expect(r.stdout).toMatch(/answered by web-1, which saw the client as 10\.244\.0\.4:\d+, reply TTL 62/);
  });

  test('podnet trace --json is podnet.trace/v2: each event has its line and the typed fields of its kind', () => {
    const r = podnet(['trace', 'topologies/clusterip.yaml', '--from', 'client', '--to', '10.96.0.100:80', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { schema: string; events: Array<Record<string, unknown>> };
    expect(j.schema).toBe('podnet.trace/v2');
    for (const e of j.events) {
      expect(typeof e['text']).toBe('string');
      expect(e).not.toHaveProperty('data'); // v1's record is gone
    }
    const binding = j.events.find((e) => e['kind'] === 'nat' && e['what'] === 'binding');
    expect(binding).toMatchObject({ type: 'DNAT', from: '10.96.0.100:80', hook: 'PREROUTING' });
    const rules = binding!['rules'] as Array<{ chain: string; index: number }>;
    expect(rules.at(-1)!.chain).toMatch(/^KUBE-SEP-/);
    expect(binding!['text']).toMatch(/^conntrack DNAT binding: 10\.96\.0\.100:80 → /);
    // the built-in topology's cross-node connection is routed: a forward event with its route and TTLs
    const cross = JSON.parse(podnet(['trace', '--json']).stdout) as { events: Array<Record<string, unknown>> };
    const forward = cross.events.find((e) => e['kind'] === 'forward' && e['what'] === 'forward');
    expect(forward).toMatchObject({ ttlBefore: 64, ttlAfter: 63 });
    expect((forward!['route'] as { spec: string }).spec).toMatch(/dev /);
  });

  test('podnet run prints a row per probe; --json is valid JSON with the documented schema', () => {
    const r = podnet(['run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ping-cross-node\s+icmp\s+client\s+pod\/web-1\s+3\s+3\s+3\s+0\s+62/);
    const j = JSON.parse(podnet(['run', '--json']).stdout) as {
      schema: string;
      probes: Array<{ name: string; replies: number }>;
    };
    expect(j.schema).toBe('podnet.run/v1');
    expect(j.probes.map((p) => p.replies)).toEqual([1, 3, 3, 1]);
  });

  test('every example topology validates', () => {
    for (const f of readdirSync('topologies').filter((x) => x.endsWith('.yaml'))) {
      const r = podnet(['validate', join('topologies', f)]);
      expect(r.stderr, f).not.toMatch(/error/);
      expect(r.code, f).toBe(0);
    }
  });

  test('a broken topology: every error with file:line:col, exit 2, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-cli-'));
    const f = join(dir, 'bad.yaml');
    writeFileSync(
      f,
      'apiVersion: v1\nkind: Pod\nmetadata: { name: web }\nspec:\n  containers:\n    - name: w\n      ports: [{ containerPort: http }]\n---\napiVersion: v1\nkind: Pod\nmetadata: { name: Web_2 }\nspec: { containers: [] }\n',
    );
    for (const cmd of [
      ['validate', f],
      ['run', f],
      ['trace', f],
    ]) {
      const r = podnet(cmd);
      expect(r.code, cmd.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        `${f}:7:32: error: Pod default/web: spec.containers[0].ports[0].containerPort: expected an integer 1–65535, got "http"`,
      );
      expect(r.stderr).toMatch(/bad\.yaml:11:\d+: error: .*Web_2/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('bad flags and unknown references are usage errors (exit 2) with a hint', () => {
    expect(podnet(['trace', '--nosuch']).code).toBe(2);
    const r = podnet(['trace', '--from', 'nobody', '--to', '10.244.1.2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no pod named "nobody"');
    expect(podnet(['trace', '--from', 'client']).stderr).toContain('give both --from and --to');
    expect(podnet(['trace', '--from', 'client', '--to', 'pod/web-1', '-p', 'tcp']).stderr).toContain('needs a port');
    expect(podnet(['run', '--seed', 'abc']).code).toBe(2);
    expect(podnet(['validate', '/no/such/file.yaml']).code).toBe(2);
  });

  test('output survives a closed pipe', () => {
    const r = spawnSync('sh', ['-c', `node ${CLI} trace | head -2`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.stdout).toMatch(/^podnet trace: tcp pod\/default\/client → pod\/web-1:8080/);
    expect(r.stdout.split('\n')).toHaveLength(3);
  });

  test('captures are written atomically where asked, identical for the same seed, and nothing is left on error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podnet-cap-'));
    const a = podnet(['trace', '--pcap', join(dir, 'a.pcapng'), '--seed', '3']);
    const b = podnet(['trace', '--pcap', join(dir, 'b.pcapng'), '--seed', '3']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(readFileSync(join(dir, 'a.pcapng')).equals(readFileSync(join(dir, 'b.pcapng')))).toBe(true);
    const j1 = podnet(['trace', '--json', '--seed', '3']).stdout;
    const j2 = podnet(['trace', '--json', '--seed', '3']).stdout;
    expect(j1).toBe(j2);
    // a failing run leaves no file and no temp file behind
    const bad = podnet(['trace', '--from', 'nobody', '--to', '10.0.0.1', '--pcap', join(dir, 'c.pcapng')]);
    expect(bad.code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['a.pcapng', 'b.pcapng']);
    // run --pcap-dir: one file named after the scenario, inside the folder
    const run = podnet(['run', '--pcap-dir', join(dir, 'run')]);
    expect(run.code).toBe(0);
    expect(readdirSync(join(dir, 'run'))).toEqual(['basics-seed1.pcapng']);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a bare --pcap name goes under captures/ of the working directory', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'podnet-cwd-'));
    const r = podnet(['trace', '--pcap', 'x.pcapng'], { cwd });
    expect(r.code).toBe(0);
    expect(readdirSync(join(cwd, 'captures'))).toEqual(['x.pcapng']);
    rmSync(cwd, { recursive: true, force: true });
  });
});
