/** `--validate` as kubectl apply offers it: unknown fields of Kubernetes kinds are errors, notices or ignored. */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');

function podnet(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const TOPOLOGY = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  nodes: 2
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: node2
  containers:
  - name: web
    image: nginx
    ports: [{containerPort: 80, protocl: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node1
  containers: [{name: c, image: busybox}]
`;

describe.skipIf(!existsSync(CLI))('--validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-validate-'));
  const file = join(dir, 'typo.yaml');
  writeFileSync(file, TOPOLOGY);

  test('strict by default: an unknown field of a Kubernetes kind is an error, named as kubectl names it', () => {
    for (const args of [
      ['validate', file],
      ['validate', '--validate=strict', file],
      ['validate', '--validate=true', file],
    ]) {
      const r = podnet(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        'typo.yaml:15:33: error: Pod default/web: unknown field "spec.containers[0].ports[0].protocl" (did you mean protocol?)',
      );
    }
    const t = podnet(['trace', file, '--from', 'client', '--to', 'pod/web:80']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('unknown field "spec.containers[0].ports[0].protocl"');
  });

  test('warn makes it a notice and the topology loads; ignore says nothing', () => {
    const w = podnet(['validate', '--validate=warn', file]);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain('notice: Pod default/web: unknown field "spec.containers[0].ports[0].protocl"');
    expect(w.stdout).toContain('ok');
    for (const mode of ['ignore', 'false']) {
      const i = podnet(['validate', `--validate=${mode}`, file]);
      expect(i.code).toBe(0);
      expect(i.stderr).not.toContain('unknown field');
    }
    const t = podnet(['trace', file, '--validate', 'warn', '--from', 'client', '--to', 'pod/web:80']);
    expect(t.code).not.toBe(2);
    expect(t.stderr).toContain('unknown field');
  });

  test('podnet kinds stay strict whatever --validate says', () => {
    const f = join(dir, 'scenario.yaml');
    writeFileSync(
      f,
      `${TOPOLOGY}---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec:
  probes: [{from: client, to: "pod/web:80", expect: {answerdBy: [nobody]}}]
`,
    );
    const r = podnet(['run', f, '--validate=ignore']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown field "answerdBy" (did you mean answeredBy?)');
  });

  test('an unknown mode is refused', () => {
    const r = podnet(['validate', '--validate=lax', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/validate/);
  });

  test.sequential('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});
