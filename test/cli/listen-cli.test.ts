/** `podnet validate` on topologies whose pods listen on ports they do not declare: one notice each, exit 0. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');
const FIXTURES = join('test', 'kube', 'fixtures', 'listen');

function validate(file: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'validate', join(FIXTURES, file)], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!existsSync(CLI))('podnet validate: what listens', () => {
  test('an exported control plane: one notice per static pod listening where it declares nothing', () => {
    const r = validate('kubeadm-control-plane-export.yaml');
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('no container declares'));
    expect(lines.map((l) => l.replace(/^.*?notice: /, '').replace(/: listens on.*/, ''))).toEqual([
      'Pod kube-system/kube-apiserver-cp: spec.containers',
      'Pod kube-system/kube-controller-manager-cp: spec.containers',
    ]);
    expect(lines[0]).toContain(
      '6443/TCP (livenessProbe, readinessProbe, startupProbe httpGet of container kube-apiserver)',
    );
  });

  test("a workload's pods share one notice; a malformed podnet.dev/listen is an error (exit 2)", () => {
    const ok = validate('frontend-backend.yaml');
    expect(ok.code).toBe(0);
    expect(ok.stderr.match(/no container declares/g)).toHaveLength(1);
    expect(ok.stderr).toContain('Deployment default/frontend: spec.template.spec.containers: its 3 pods');
    const bad = validate('annotation-malformed.yaml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'annotation-malformed.yaml:9:24: error: Pod default/bad-port: metadata.annotations["podnet.dev/listen"]',
    );
  });
});
