/** The progress bar of long `podnet run`s: on a terminal only, never with --json, never in piped output. */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plannedLength, wantsProgress } from '../../src/cli/progress.js';
import type { ScenarioModel } from '../../src/kube/model.js';
import { missingTools } from '../tools.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');
const LONG = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: long }
spec: { addons: none, nodes: 2 }
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec: { nodeName: node1, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web }
spec: { nodeName: node2, containers: [{ name: w, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: { name: long }
spec:
  probes:
    - { name: many, from: client, to: pod/web:8080, protocol: tcp, count: 12000, interval: 5ms }
`;
const BAR = /podnet run long \[[█░]+\] \d+% \| [\d.]+ s of 60 s virtual/;

describe('progress bar', () => {
  test('planned length: probes one after another add up, parallel ones overlap', () => {
    const p = (start: number, count: number, interval: number) =>
      ({ start, count, interval }) as ScenarioModel['probes'][number];
    const sc = (parallel: boolean, duration?: number) =>
      ({ name: 's', probes: [p(0, 10, 1e9), p(5e9, 2, 1e9)], parallel, duration }) as ScenarioModel;
    expect(plannedLength(sc(false))).toBe(10e9 + 7e9);
    expect(plannedLength(sc(true))).toBe(10e9);
    expect(plannedLength(sc(true, 30e9))).toBe(30e9);
  });

  test('only on a terminal, and not with --json or --trace', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    const env = process.env['CI'];
    delete process.env['CI'];
    try {
      expect(wantsProgress({ json: false, trace: false }, tty)).toBe(true);
      expect(wantsProgress({ json: true, trace: false }, tty)).toBe(false);
      expect(wantsProgress({ json: false, trace: true }, tty)).toBe(false);
      expect(wantsProgress({ json: false, trace: false }, pipe)).toBe(false);
    } finally {
      if (env !== undefined) process.env['CI'] = env;
    }
  });

  const why = missingTools('script');
  test.skipIf(why !== undefined)(
    `a long run draws it on a terminal and erases it; piped or --json output has none${why ? ` (skipped: ${why})` : ''}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'podnet-progress-'));
      try {
        const file = join(dir, 'long.yaml');
        writeFileSync(file, LONG);
        const env = { ...process.env };
        delete env['CI'];
        // script(1) gives the command a pseudo-terminal
        const onTty = spawnSync('script', ['-qec', `${process.execPath} ${CLI} run ${file}`, '/dev/null'], {
          encoding: 'utf8',
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 1 << 28,
        });
        expect(onTty.status).toBe(0);
        expect(onTty.stdout).toMatch(BAR);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI erase-line sequence is what is checked
        expect(onTty.stdout).toMatch(/\x1b\[2K/); // erased when done
        expect(onTty.stdout).toMatch(/many\s+tcp\s+client\s+pod\/web:8080\s+12000\s+12000\s+12000/);
        const json = spawnSync('script', ['-qec', `${process.execPath} ${CLI} run ${file} --json`, '/dev/null'], {
          encoding: 'utf8',
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 1 << 28,
        });
        expect(json.status).toBe(0);
        expect(json.stdout).not.toMatch(BAR);
        const piped = spawnSync(process.execPath, [CLI, 'run', file], {
          encoding: 'utf8',
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 1 << 28,
        });
        expect(piped.status).toBe(0);
        expect(piped.stderr).toBe('');
        expect(piped.stdout).not.toMatch(BAR);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
