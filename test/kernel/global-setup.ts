/**
 * Once per `npm run test:kernel`: build dist/ (the kernel side runs the compiled agents and the
 * CLI), then decide whether this machine can run the suite at all. When it cannot, print one
 * line saying why and let every test skip — or fail with PODNET_REQUIRE_TOOLS=1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { kernelUnavailable } from '../../src/verify/host.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the kernel suite cannot run here (null: it can). */
    kernelSkip: string | null;
  }
}

export default function setup(project: TestProject): void {
  const why = kernelUnavailable(`pnk${process.pid}-preflight`) ?? null;
  if (why !== null) {
    if (process.env.PODNET_REQUIRE_TOOLS === '1')
      throw new Error(`PODNET_REQUIRE_TOOLS=1 but the kernel suite cannot run here: ${why}`);
    console.log(`kernel suite skipped: ${why}`);
    project.provide('kernelSkip', why);
    return;
  }
  const r = spawnSync('npm', ['run', 'build', '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  const built = [
    'dist/cli/podnet.mjs',
    'dist/verify/agents/server.js',
    'dist/verify/agents/tcp-client.js',
    'dist/verify/agents/udp-client.js',
  ].every((f) => existsSync(f));
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(0, 5).join('\n');
    if (!built) throw new Error(`npm run build failed and dist/ lacks the CLI or the kernel agents:\n${out}`);
    console.log(`kernel suite: npm run build reported errors (using the files it emitted):\n${out}`);
  }
  project.provide('kernelSkip', null);
}
