/** `podnet validate` on exports of real clusters: they load, and each inference notice is printed once. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');
const validate = (file: string): { code: number; stderr: string } => {
  const r = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
  return { code: r.status ?? -1, stderr: r.stderr };
};
const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe.skipIf(!existsSync(CLI))('podnet validate on cluster exports', () => {
  test('a kind `get all -A` export (no Node objects, kindnet): exit 0, each notice exactly once', () => {
    const r = validate('test/kube/fixtures/kind-get-all.yaml');
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(count(r.stderr, 'the input has no Node objects: 3 nodes inferred')).toBe(1);
    expect(count(r.stderr, "serviceCIDR 10.96.0.0/16 read from kube-apiserver's --service-cluster-ip-range")).toBe(1);
    expect(count(r.stderr, 'the input ran the kindnet CNI')).toBe(1);
    expect(count(r.stderr, 'notice:')).toBe(4);
  });

  test('a k3s export: exit 0, clusterCIDR and serviceCIDR notices exactly once', () => {
    for (const f of ['test/kube/fixtures/k3s-export.yaml', 'test/kube/fixtures/k3s-export.json']) {
      const r = validate(f);
      expect(r.stderr, f).not.toMatch(/error/);
      expect(r.code, f).toBe(0);
      expect(count(r.stderr, 'clusterCIDR 10.42.0.0/16 inferred'), f).toBe(1);
      expect(count(r.stderr, 'serviceCIDR 10.43.0.0/16 inferred'), f).toBe(1);
      expect(count(r.stderr, 'notice:'), f).toBe(3);
    }
  });
});
