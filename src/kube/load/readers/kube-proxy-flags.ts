/**
 * kube-proxy's settings from its command line: clusters that configure kube-proxy by flags (kops,
 * older installs) rather than a KubeProxyConfiguration file. The command line is the first container
 * running kube-proxy (a `command`/`args` entry whose base name is `kube-proxy`, a `sh -c` string
 * that execs it, or the `--` arguments of a kube-proxy image) of a `kube-system` DaemonSet of the
 * input, else of a `kube-system` Pod (a static pod's mirror).
 *
 * Precedence, as kube-proxy's Options.Complete (cmd/kube-proxy/app/options.go) decides it: with a
 * non-empty `--config` the file replaces every setting the flags made (only logging flags and
 * --hostname-override survive), so the export's `kube-system/kube-proxy` ConfigMap is read as before
 * and the rule-changing flags beside --config are ignored (one notice); without it the flags and
 * kube-proxy's defaults are the settings (processV1Alpha1Flags), and the ConfigMap is not read. A
 * Cluster's `spec.kubeProxy` wins over both. Without `--cluster-cidr` the ClusterCIDR detector has
 * no CIDR, which kube-proxy's getLocalDetectors (server_linux.go) turns into no detector.
 *
 * Flags are parsed as pflag does: `--flag=value` or `--flag value`; a boolean flag alone is true,
 * `--flag=<bool>` takes Go's ParseBool spellings; a repeated flag keeps its last value, except
 * `--nodeport-addresses`, whose comma lists add up.
 */
import type { Cidr, KubeProxyModel, LocalDetectorModel } from '../../model.js';
import type { Field } from '../field.js';
import type { LoadState, ObjectInput } from '../state.js';
import { quote } from '../values.js';
import {
  type ClusterKubeProxy,
  CIDR_EXPECTED,
  KUBE_PROXY_DEFAULTS,
  kubeProxyConfigMapValue,
  MAX_IFNAME,
  parseSloppyCidr,
  withKubeProxyConfigMap,
} from './kube-proxy-config.js';

/** The boolean flags read. */
const BOOL_READ = ['masquerade-all', 'iptables-localhost-nodeports', 'conntrack-tcp-be-liberal'];
/** The flags with a value read. */
const VALUE_READ = [
  'iptables-masquerade-bit',
  'nodeport-addresses',
  'cluster-cidr',
  'detect-local-mode',
  'pod-bridge-interface',
  'pod-interface-name-prefix',
  'proxy-mode',
  'config',
];
/** kube-proxy's boolean flags that do not change the iptables rules (accepted, not read). */
const BOOL_IGNORED = [
  'cleanup',
  'bind-address-hard-fail',
  'profiling',
  'init-only',
  'ipvs-strict-arp',
  'log-text-split-stream',
  'log-json-split-stream',
  'help',
  'version',
];
/** kube-proxy's flags with a value that do not change the iptables rules (accepted, not read). */
const VALUE_IGNORED = [
  'write-config-to',
  'feature-gates',
  'kubeconfig',
  'master',
  'kube-api-content-type',
  'kube-api-burst',
  'kube-api-qps',
  'hostname-override',
  'bind-address',
  'healthz-bind-address',
  'metrics-bind-address',
  'show-hidden-metrics-for-version',
  'iptables-sync-period',
  'iptables-min-sync-period',
  'ipvs-sync-period',
  'ipvs-min-sync-period',
  'ipvs-scheduler',
  'ipvs-exclude-cidrs',
  'ipvs-tcp-timeout',
  'ipvs-tcpfin-timeout',
  'ipvs-udp-timeout',
  'oom-score-adj',
  'conntrack-max-per-core',
  'conntrack-min',
  'conntrack-tcp-timeout-established',
  'conntrack-tcp-timeout-close-wait',
  'conntrack-udp-timeout',
  'conntrack-udp-timeout-stream',
  'config-sync-period',
  'healthz-port',
  'metrics-port',
  'v',
  'vmodule',
  'log-flush-frequency',
  'logging-format',
  'log-text-info-buffer-size',
  'log-json-info-buffer-size',
];
const MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;
/** Go's strconv.ParseBool. */
const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** One word of the command line and the YAML scalar it came from. */
interface Arg {
  readonly text: string;
  readonly field: Field;
}

/** One occurrence of a flag: its value (`true` for a bare boolean) and the argument holding it. */
interface FlagValue {
  readonly value: string;
  readonly field: Field;
}

/** kube-proxy's command line in the input. */
interface CommandLine {
  readonly label: string;
  /** Where notices about the command line as a whole go: its first argument, else the container. */
  readonly field: Field;
  readonly args: readonly Arg[];
}

const isKubeProxyBinary = (word: string): boolean => word.split('/').pop() === 'kube-proxy';
/** Shell syntax that ends the command kube-proxy runs in a `sh -c` string (redirects, pipes, lists). */
const isShellOperator = (word: string): boolean => /^(\d*[<>]|[|;&])/.test(word);

/** kube-proxy's arguments in a container; undefined when it does not run kube-proxy. */
function kubeProxyArgs(c: Field): Arg[] | undefined {
  const all: Arg[] = [];
  for (const key of ['command', 'args']) {
    const f = c.child(key);
    if (!f.isList) continue;
    for (const item of f.list('') ?? []) {
      const text = item.rawStr();
      if (text !== undefined) all.push({ text, field: item });
    }
  }
  // The binary named in the list (kubeadm's `command: [/usr/local/bin/kube-proxy, …]`, or after a
  // wrapper such as kops' go-runner): what follows it is kube-proxy's.
  // The first such word: a later one would be a flag's value (a path ending in kube-proxy).
  const start = all.findIndex((a) => isKubeProxyBinary(a.text));
  if (start >= 0) return all.slice(start + 1);
  // `sh -c "… exec /usr/local/bin/kube-proxy --flag … > log"`: the words after it, up to shell syntax.
  for (const a of all) {
    const words = a.text.trim().split(/\s+/);
    const at = words.findIndex(isKubeProxyBinary);
    if (at < 0 || words.length === 1) continue;
    const rest = words.slice(at + 1);
    const end = rest.findIndex(isShellOperator);
    return (end < 0 ? rest : rest.slice(0, end)).map((text) => ({ text, field: a.field }));
  }
  // A kube-proxy image given only flags (its entrypoint runs kube-proxy).
  const image = c.rawStr('image') ?? '';
  const repo = (image.split('@')[0] ?? '').split('/').pop()?.split(':')[0] ?? '';
  if (repo.startsWith('kube-proxy') && all.some((a) => a.text.startsWith('--'))) return all;
  return undefined;
}

function containersOf(obj: ObjectInput, path: string): Field[] {
  const f = obj.root.at(path);
  return f.isList ? (f.list('') ?? []).filter((c) => c.isMap) : [];
}

/** The first kube-system DaemonSet's (else Pod's) container running kube-proxy. */
function findCommandLine(state: LoadState): CommandLine | undefined {
  for (const [kind, path] of [
    ['DaemonSet', 'spec.template.spec.containers'],
    ['Pod', 'spec.containers'],
  ] as const) {
    for (const obj of state.objects) {
      if (obj.origin !== 'user' || obj.kind !== kind || obj.effectiveNamespace !== 'kube-system') continue;
      for (const c of containersOf(obj, path)) {
        const args = kubeProxyArgs(c);
        if (args === undefined) continue;
        const first = c.child('command').isList ? c.child('command') : c.child('args');
        return { label: obj.label, field: first.present ? first : c, args };
      }
    }
  }
  return undefined;
}

/**
 * The flags of a command line, by name, as pflag reads them; undefined when one needs a value it
 * lacks (reported). Flags kube-proxy does not have get a notice each.
 */
function parseFlags(args: readonly Arg[]): Map<string, FlagValue[]> | undefined {
  const out = new Map<string, FlagValue[]>();
  let ok = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.text === '--') break; // pflag: the rest are positional
    if (!a.text.startsWith('-') || a.text === '-') continue; // positional (kube-proxy takes none; an empty one)
    if (!a.text.startsWith('--')) {
      // Shorthands: klog's -v (`-v4`, `-v=4`, `-v 4`) and -h.
      if (a.text === '-v') i++;
      else if (!/^-(v|h$)/.test(a.text)) a.field.notice(`${quote(a.text)} is not a flag of kube-proxy v1.30+; ignored`);
      continue;
    }
    const eq = a.text.indexOf('=');
    const name = a.text.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : a.text.slice(eq + 1);
    const isBool = BOOL_READ.includes(name) || BOOL_IGNORED.includes(name);
    if (!isBool && !VALUE_READ.includes(name) && !VALUE_IGNORED.includes(name)) {
      a.field.notice(`--${name} is not a flag of kube-proxy v1.30+; ignored`);
      continue;
    }
    let value: FlagValue;
    if (inline !== undefined) value = { value: inline, field: a.field };
    else if (isBool) value = { value: 'true', field: a.field };
    else if (i + 1 < args.length) value = { value: args[++i]!.text, field: args[i]!.field };
    else {
      a.field.error(`flag needs an argument: --${name}`);
      ok = false;
      continue;
    }
    const list = out.get(name);
    if (list === undefined) out.set(name, [value]);
    else list.push(value);
  }
  return ok ? out : undefined;
}

/** Reads the flags kube-proxy's rules depend on; undefined when one is invalid (reported at its argument). */
function readFlags(flags: Map<string, FlagValue[]>): Omit<KubeProxyModel, 'randomFully'> | undefined {
  let ok = true;
  const last = (name: string): FlagValue | undefined => flags.get(name)?.at(-1);
  const fail = (v: FlagValue, name: string, expected: string): undefined => {
    v.field.error(`--${name}: expected ${expected}, got ${quote(v.value)}`);
    ok = false;
    return undefined;
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const v = last(name);
    if (v === undefined) return dflt;
    if (TRUE.includes(v.value)) return true;
    if (FALSE.includes(v.value)) return false;
    fail(v, name, 'true or false (the flag alone is true)');
    return dflt;
  };
  const str = (name: string): string => last(name)?.value ?? '';

  const mode = last('proxy-mode');
  if (mode !== undefined && mode.value !== '' && mode.value !== 'iptables') {
    if (mode.value === 'ipvs' || mode.value === 'nftables') {
      mode.field.error(`--proxy-mode=${mode.value}: podnet emulates kube-proxy's iptables mode only`);
      ok = false;
    } else fail(mode, 'proxy-mode', '"iptables" (ipvs and nftables are not emulated)');
  }
  const masqueradeAll = bool('masquerade-all', KUBE_PROXY_DEFAULTS.masqueradeAll);
  const localhostNodePorts = bool('iptables-localhost-nodeports', KUBE_PROXY_DEFAULTS.localhostNodePorts);
  const tcpBeLiberal = bool('conntrack-tcp-be-liberal', KUBE_PROXY_DEFAULTS.conntrackTCPBeLiberal);

  let masqueradeBit: number = KUBE_PROXY_DEFAULTS.masqueradeBit;
  const bitF = last('iptables-masquerade-bit');
  if (bitF !== undefined) {
    const n = parseGoInt(bitF.value);
    if (n === undefined || n < 0 || n > 31) fail(bitF, 'iptables-masquerade-bit', 'an integer 0–31');
    else masqueradeBit = n;
  }

  const nodePortAddresses = readNodePortAddresses(flags.get('nodeport-addresses') ?? []);
  if (nodePortAddresses === null) ok = false;

  // --cluster-cidr: an IPv4 CIDR or a dual-stack pair; absent (or empty) is no CIDR.
  let clusterCIDR: Cidr | undefined;
  const ccF = last('cluster-cidr');
  if (ccF !== undefined && ccF.value !== '') {
    const parts = ccF.value.split(',');
    const parsed = parts.map(parseSloppyCidr);
    const v4 = parsed.filter((c): c is Cidr => c !== undefined && c !== 'v6');
    const v6 = parsed.filter((c) => c === 'v6').length;
    if (parsed.includes(undefined)) fail(ccF, 'cluster-cidr', `${CIDR_EXPECTED}, or a dual-stack pair`);
    else if (parts.length > 2 || v4.length > 1 || v6 > 1)
      fail(ccF, 'cluster-cidr', 'a single CIDR or a dual-stack pair');
    else clusterCIDR = v4[0];
  }

  const dlF = last('detect-local-mode');
  const dlMode = dlF === undefined || dlF.value === '' ? 'ClusterCIDR' : dlF.value;
  let detectLocal: LocalDetectorModel | undefined;
  const ifName = (name: string, extra: number): string | undefined => {
    const v = last(name);
    const text = str(name);
    if (text === '') {
      (v ?? dlF)!.field.error(`--detect-local-mode=${dlMode} needs a non-empty --${name}`);
      ok = false;
      return undefined;
    }
    if (text.length + extra > MAX_IFNAME || /[\s/]/.test(text))
      return fail(v!, name, `an interface name of at most ${MAX_IFNAME - extra} characters without spaces or "/"`);
    return text;
  };
  switch (dlMode) {
    case 'ClusterCIDR':
      detectLocal = clusterCIDR === undefined ? { mode: 'NoOp' } : { mode: 'ClusterCIDR', cidr: clusterCIDR };
      break;
    case 'NodeCIDR':
      detectLocal = { mode: 'NodeCIDR' };
      break;
    case 'BridgeInterface': {
      const name = ifName('pod-bridge-interface', 0);
      if (name !== undefined) detectLocal = { mode: dlMode, bridgeInterface: name };
      break;
    }
    case 'InterfaceNamePrefix': {
      const prefix = ifName('pod-interface-name-prefix', 1);
      if (prefix !== undefined) detectLocal = { mode: dlMode, interfaceNamePrefix: prefix };
      break;
    }
    default:
      fail(dlF!, 'detect-local-mode', `one of ${MODES.join(', ')}`);
  }
  if (!ok || detectLocal === undefined || nodePortAddresses === null) return undefined;
  return {
    masqueradeAll,
    masqueradeBit,
    localhostNodePorts,
    nodePortAddresses,
    detectLocal,
    conntrackTCPBeLiberal: tcpBeLiberal,
  };
}

/** Go's strconv.ParseInt(s, 0, 32): decimal, 0x/0o/0b or leading-0 octal, `_` between digits. */
function parseGoInt(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*)$/.exec(text);
  if (m === null || /__|_$/.test(m[2]!)) return undefined;
  const body = m[2]!.replaceAll('_', '');
  const n = /^0[0-7]/.test(body) ? Number.parseInt(body.slice(1), 8) : Number(body.replace(/^0([oO])/, '0o'));
  return Number.isSafeInteger(n) ? (m[1] === '-' ? -n : n) : undefined;
}

/**
 * `--nodeport-addresses`: each occurrence a comma list (pflag's StringSlice: the lists add up, an
 * empty value is none); `primary` alone, else CIDRs (IPv6 ones ignored). Null when invalid.
 */
function readNodePortAddresses(values: readonly FlagValue[]): readonly Cidr[] | 'primary' | undefined | null {
  const items = values.flatMap((v) => (v.value === '' ? [] : v.value.split(',').map((text) => ({ text, v }))));
  if (items.length === 0) return undefined;
  let ok = true;
  const out: Cidr[] = [];
  for (const { text, v } of items) {
    if (text === 'primary') {
      if (items.length !== 1) {
        v.field.error(
          `--nodeport-addresses: "primary" must be the only entry (kube-proxy: can't use both 'primary' and CIDRs)`,
        );
        ok = false;
      }
      continue;
    }
    const c = parseSloppyCidr(text);
    if (c === undefined) {
      v.field.error(`--nodeport-addresses: expected ${CIDR_EXPECTED} or "primary", got ${quote(text)}`);
      ok = false;
    } else if (c !== 'v6') out.push(c);
  }
  if (!ok) return null;
  return items.length === 1 && items[0]!.text === 'primary' ? 'primary' : out;
}

/** The command line has a non-empty --config (read without reporting: the flags are not used). */
function hasConfig(args: readonly Arg[]): boolean {
  return args.some((a, i) => /^--config=./.test(a.text) || (a.text === '--config' && (args[i + 1]?.text ?? '') !== ''));
}

/** The flags that change the rules, for the notice that says they are ignored beside --config. */
const RULE_FLAGS = [...BOOL_READ, ...VALUE_READ.filter((f) => f !== 'config')];

/**
 * The Cluster with kube-proxy's settings from the input: its `spec.kubeProxy`, else what kube-proxy's
 * command line in the export says (the flags, or with `--config` the `kube-system/kube-proxy`
 * ConfigMap), else that ConfigMap; one notice says which was read.
 */
export function withKubeProxySettings<D extends ClusterKubeProxy>(state: LoadState, draft: D): D {
  const cmd = findCommandLine(state);
  if (cmd === undefined) return withKubeProxyConfigMap(state, draft);
  // kube-proxy loads --config when it is non-empty; a command line without it is the flags alone.
  const flags = draft.kubeProxyGiven === true ? undefined : parseFlags(cmd.args);
  if (draft.kubeProxyGiven === true ? hasConfig(cmd.args) : (flags?.get('config')?.at(-1)?.value ?? '') !== '') {
    const beside = RULE_FLAGS.filter((f) => flags?.has(f) === true);
    const first = beside[0] === undefined ? undefined : flags?.get(beside[0])?.[0];
    first?.field.notice(
      `ignored beside --config: ${beside.map((f) => `--${f}`).join(', ')} (kube-proxy reads the file only)`,
    );
    return withKubeProxyConfigMap(state, draft);
  }
  if (draft.kubeProxyGiven === true) {
    cmd.field.notice(`not read: the Cluster's spec.kubeProxy sets kube-proxy's settings`);
    return draft;
  }
  const config = flags === undefined ? undefined : readFlags(flags);
  if (config === undefined || draft.kubeProxy === undefined) return { ...draft, kubeProxy: undefined };
  cmd.field.notice(`kube-proxy's settings are read from the flags of ${cmd.label}`);
  kubeProxyConfigMapValue(state)?.notice(`not read: kube-proxy's command line (${cmd.label}) has no --config`);
  return { ...draft, kubeProxy: { ...config, randomFully: draft.kubeProxy.randomFully } };
}
