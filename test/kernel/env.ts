/** Shared by the kernel tests: whether to skip (decided once by global-setup.ts), the CLI, checks on what is left. */
import { inject } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { listNamespaces } from '../../src/verify/host.js';

/** Why the suite skips (undefined: it runs); global-setup.ts printed it once. */
export const kernelSkip: string | undefined = inject('kernelSkip') ?? undefined;

/** The CLI as users run it. */
export const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');

/** Namespaces carrying a prefix. */
export function namespacesWith(prefix: string): string[] {
  return listNamespaces().filter((n) => n.startsWith(prefix));
}

/** Which of these PIDs still run (zombies count as gone). */
export function stillRunning(pids: Iterable<number>): number[] {
  const list = [...pids];
  if (list.length === 0) return [];
  const r = spawnSync('ps', ['-o', 'pid=,stat=', '-p', list.join(',')], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, stat]) => pid !== undefined && /^\d+$/.test(pid) && stat !== undefined && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid));
}
