/**
 * External tools for the Wireshark and kernel suites: present, or a one-line reason to skip (or fail with
 * PODNET_REQUIRE_TOOLS=1).
 */
import { spawnSync } from 'node:child_process';

/** True when `cmd` runs (`cmd -v`/`--version` exits 0). */
export function hasTool(cmd: string, arg = '--version'): boolean {
  const r = spawnSync(cmd, [arg], { stdio: 'ignore' });
  return r.status === 0;
}

/** Why a suite must skip, or undefined when the tools are there. Throws when tools are required. */
export function missingTools(...cmds: string[]): string | undefined {
  const missing = cmds.filter((c) => !hasTool(c));
  if (missing.length === 0) return undefined;
  const why = `needs ${missing.join(', ')} (apt-get install -y ${missing.map((m) => (m === 'capinfos' ? 'tshark' : m)).join(' ')})`;
  if (process.env.PODNET_REQUIRE_TOOLS === '1') throw new Error(`PODNET_REQUIRE_TOOLS=1 but this suite ${why}`);
  return why;
}
