/**
 * Hostile and careless input at the command line: names with escape sequences and megabyte names
 * reach the terminal escaped and short, a name dig refuses and an iptables-save dump whose jumps
 * loop are user mistakes (exit 2, one line, the position), and a device is read up to the input
 * limit rather than until memory runs out.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');

function podnet(args: string[], cwd = process.cwd()): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, input: '', maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// C0 controls but newline, DEL and C1: what a terminal acts on
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function inDir(files: Record<string, string>, run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-hostile-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pod = (name: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${JSON.stringify(name)}\nspec:\n  containers: [{name: c, image: nginx}]\n`;

describe.skipIf(!existsSync(CLI))('podnet CLI and hostile input', () => {
  test('a pod name that would retitle and clear the terminal is printed escaped', () => {
    inDir({ 'inj.yaml': pod('a\u001b]0;pwned\u0007\u001b[2Jb') }, (dir) => {
      const r = podnet(['validate', 'inj.yaml'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(RAW_CONTROL);
      expect(r.stderr).toContain('Pod default/a\\x1b]0;pwned\\x07\\x1b[2Jb: metadata.name:');
    });
  });

  test('a 1 MB pod name gives a message of a few hundred bytes', () => {
    inDir({ 'big.yaml': pod('x'.repeat(1_000_000)) }, (dir) => {
      const r = podnet(['validate', 'big.yaml'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr.length).toBeLessThan(2000);
      expect(r.stderr).toContain(`…(${1_000_000 - 188} more): metadata.name:`);
    });
  });

  test('a flag value with escape sequences is escaped in the error', () => {
    const r = podnet(['trace', '--from', 'cl\u001b[2Jient', '--to', 'web-1']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr).toContain('no pod named "cl\\x1b[2Jient"');
  });

  test('dig a..b is refused as dig refuses it: exit 2, one line, the empty label named', () => {
    const r = podnet(['dig', 'a..b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("podnet: 'a..b' is not a legal name (empty label)\n");
  });

  test('dig refuses a 64-byte label and a name over 255 bytes on the wire, exit 2', () => {
    const label = podnet(['dig', `${'a'.repeat(64)}.svc`]);
    expect(label.code).toBe(2);
    expect(label.stderr).toMatch(/is not a legal name \(label too long: 64 bytes, at most 63\)\n$/);
    const long = podnet(['dig', Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.')]);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/is not a legal name \(name too long: 306 bytes on the wire, at most 255\)\n$/);
    expect(long.stderr.split('\n')).toHaveLength(2);
  });

  test('an iptables-save dump whose jumps loop is bad input: exit 2 at the jump that closes the loop', () => {
    const dump = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':A - [0:0]',
      ':B - [0:0]',
      '-A FORWARD -j A',
      '-A A -j B',
      '-A B -j A',
      'COMMIT',
      '',
    ].join('\n');
    inDir({ 'loop.rules': dump }, (dir) => {
      const r = podnet(
        ['trace', '--from', 'client', '--to', 'pod/web-1', '--iptables-save', 'loop.rules', '--node', 'node1'],
        dir,
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('loop.rules:9:9: jumps loop: FORWARD → A → B → A');
      expect(r.stderr).toContain('Too many links');
      expect(r.stderr).not.toContain('internal error');
    });
  });

  test('--iptables-save /dev/zero stops at the input limit, exit 2, the limit named', () => {
    const r = podnet(['trace', '--from', 'client', '--to', 'web-1', '--iptables-save', '/dev/zero', '--node', 'node1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'podnet: --iptables-save: cannot read /dev/zero: more than 256 MiB, the most input podnet reads (README "Limits")\n',
    );
  });
});
