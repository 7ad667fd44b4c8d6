/** `iptables-restore --test` for tests: parses only, never changes the machine's rules. */
import { spawnSync } from 'node:child_process';

/** Why the real tool cannot be used here, or undefined if it can. */
export function iptablesRestoreUnavailable(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'iptables-restore --test needs root';
  const r = spawnSync('iptables-restore', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return 'iptables-restore is not installed';
  return undefined;
}

/** True when tests must fail rather than skip without the tool (PODNET_REQUIRE_TOOLS=1). */
export const REQUIRE_TOOLS = process.env['PODNET_REQUIRE_TOOLS'] === '1';

/** Runs `iptables-restore --test` on the text; `ok` is true when it parsed everything. */
export function iptablesRestoreTest(text: string): { ok: boolean; stderr: string } {
  const r = spawnSync('iptables-restore', ['--test'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { ok: r.status === 0, stderr: `${r.stderr ?? ''}${r.error?.message ?? ''}` };
}
