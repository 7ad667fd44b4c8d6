/**
 * kube-proxy's settings in a Cluster document: `spec.kubeProxy` is a KubeProxyConfiguration
 * (kubeproxy.config.k8s.io/v1alpha1) with its own field names and nesting, so the `config.conf` of
 * a cluster's `kube-system/kube-proxy` ConfigMap can be pasted under it; `spec.iptables.randomFully`
 * says whether the nodes' iptables has `--random-fully` (kube-proxy and flanneld use it when it does;
 * KubeProxyConfiguration has no field for it).
 *
 * Read (each optional; defaults as kubeadm's kube-proxy runs):
 *   iptables.masqueradeAll false · iptables.masqueradeBit 14 · iptables.localhostNodePorts true
 *   nodePortAddresses unset (every local address) — CIDRs, or the single entry `primary`
 *   detectLocalMode ClusterCIDR — ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix
 *   detectLocal.bridgeInterface / detectLocal.interfaceNamePrefix (required, non-empty, by those modes)
 *   clusterCIDR: the Cluster's spec.clusterCIDR (kubeadm writes its pod subnet there); `""` is no
 *     detector (kube-proxy's NoOpLocalDetector: no rule tests the source)
 *   conntrack.tcpBeLiberal false · mode "" or iptables (ipvs and nftables are not emulated)
 * Validation follows kube-proxy's (pkg/proxy/apis/config/validation): masqueradeBit 0–31, CIDRs as
 * Go's ParseCIDR reads them (host bits allowed), `primary` alone, at most one IPv4 clusterCIDR
 * (a dual-stack pair's IPv6 half is ignored, as are IPv6 nodePortAddresses). The other
 * KubeProxyConfiguration fields are accepted and ignored (they do not change the rules); a field
 * it does not have gets a notice, since kube-proxy decodes its file leniently and ignores it too.
 */
import type { Cidr, KubeProxyModel, LocalDetectorModel } from '../../model.js';
import { isScalar, LineCounter, parseDocument, type Scalar } from 'yaml';
import { Field } from '../field.js';
import { noticeIgnored, StateKey, type KindReader, type LoadState } from '../state.js';
import { cidrOf, parseIpv4, quote } from '../values.js';

/** kubeadm's kube-proxy: what the rules are without `spec.kubeProxy`. */
export const KUBE_PROXY_DEFAULTS = {
  masqueradeAll: false,
  masqueradeBit: 14,
  localhostNodePorts: true,
  conntrackTCPBeLiberal: false,
  randomFully: true,
} as const;

const API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
const KIND = 'KubeProxyConfiguration';
const MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;
/** Linux IFNAMSIZ − 1: iptables-restore refuses longer interface names. */
export const MAX_IFNAME = 15;

/** KubeProxyConfiguration v1alpha1's fields that do not change the iptables rules (accepted, not read). */
const IGNORED_TOP = [
  'featureGates',
  'clientConnection',
  'logging',
  'hostnameOverride',
  'bindAddress',
  'healthzBindAddress',
  'metricsBindAddress',
  'bindAddressHardFail',
  'enableProfiling',
  'showHiddenMetricsForVersion',
  'serviceProxyName',
  'ipvs',
  'nftables',
  'winkernel',
  'oomScoreAdj',
  'configSyncPeriod',
  'portRange',
];
const READ_TOP = [
  'apiVersion',
  'kind',
  'mode',
  'iptables',
  'conntrack',
  'detectLocalMode',
  'detectLocal',
  'clusterCIDR',
  'nodePortAddresses',
];
const IPTABLES_FIELDS = ['masqueradeBit', 'masqueradeAll', 'localhostNodePorts', 'syncPeriod', 'minSyncPeriod'];
const CONNTRACK_FIELDS = [
  'maxPerCore',
  'min',
  'tcpEstablishedTimeout',
  'tcpCloseWaitTimeout',
  'tcpBeLiberal',
  'udpTimeout',
  'udpStreamTimeout',
];
const DETECT_LOCAL_FIELDS = ['bridgeInterface', 'interfaceNamePrefix'];

/** A notice for each key of the mapping `f` that `what` does not have. */
function noticeUnknown(f: Field, known: readonly string[], what: string): void {
  for (const [key, v] of f.entries('') ?? []) {
    if (known.includes(key)) continue;
    v.notice(`unknown field ${quote(key)} of ${what}, ignored (kube-proxy decodes its configuration leniently)`);
  }
}

/** An IPv4 CIDR as Go's net.ParseCIDR takes it (host bits allowed, cleared); 'v6' for an IPv6 one. */
export function parseSloppyCidr(text: string): Cidr | 'v6' | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (addr.includes(':')) return len <= 128 ? 'v6' : undefined;
  const ip = parseIpv4(addr);
  if (ip === undefined || len > 32) return undefined;
  return cidrOf(ip, len);
}

/** What a CIDR value should look like, for messages. */
export const CIDR_EXPECTED = 'a CIDR like 172.18.0.0/24';

/** `nodePortAddresses`: undefined (every local address), `primary`, or the IPv4 CIDRs; null when invalid. */
function readNodePortAddresses(f: Field): readonly Cidr[] | 'primary' | undefined | null {
  const items = f.list('nodePortAddresses', { itemName: 'CIDR' });
  if (items === undefined) return f.child('nodePortAddresses').present ? null : undefined;
  if (items.length === 0) return undefined;
  const out: Cidr[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const v = item.raw();
    if (typeof v !== 'string') {
      item.typeError(`${CIDR_EXPECTED} or "primary"`);
      ok = false;
      return;
    }
    if (v === 'primary') {
      if (items.length !== 1) {
        item.error(`"primary" must be the only entry (kube-proxy: can't use both 'primary' and CIDRs)`);
        ok = false;
      }
      return;
    }
    const c = parseSloppyCidr(v);
    if (c === undefined) {
      item.typeError(i === 0 && items.length === 1 ? `${CIDR_EXPECTED} or "primary"` : CIDR_EXPECTED);
      ok = false;
    } else if (c !== 'v6') out.push(c);
  });
  if (!ok) return null;
  return items.length === 1 && items[0]!.raw() === 'primary' ? 'primary' : out;
}

/** `clusterCIDR`: its IPv4 CIDR, 'none' when empty (or IPv6 only), undefined when absent, null when invalid. */
function readClusterCIDR(f: Field): Cidr | 'none' | undefined | null {
  const cf = f.child('clusterCIDR');
  if (!cf.present) return undefined;
  const v = cf.raw();
  if (typeof v !== 'string') {
    cf.typeError(`${CIDR_EXPECTED.replace('172.18.0.0/24', '10.244.0.0/16')}, a dual-stack pair, or ""`);
    return null;
  }
  if (v === '') return 'none';
  const parts = v.split(',');
  const v4: Cidr[] = [];
  let v6 = 0;
  for (const p of parts) {
    const c = parseSloppyCidr(p);
    if (c === undefined) {
      cf.error(`${quote(p)} is not a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)`);
      return null;
    }
    if (c === 'v6') v6++;
    else v4.push(c);
  }
  if (parts.length > 2 || v4.length > 1 || v6 > 1) {
    cf.error('must be either a single CIDR or a dual-stack pair of CIDRs (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48)');
    return null;
  }
  return v4[0] ?? 'none';
}

/** An interface name (or prefix) kube-proxy's rules can carry: non-empty, at most 15 characters with `extra`. */
function readIfName(dl: Field, key: string, modeF: Field, mode: string, extra: number): string | undefined {
  const f = dl.child(key);
  const v = f.present ? f.raw() : '';
  if (typeof v !== 'string') return undefined; // reported with the other detectLocal fields
  if (v === '') {
    (f.present ? f : modeF).error(`detectLocalMode ${mode} needs a non-empty detectLocal.${key}`);
    return undefined;
  }
  if (v.length + extra > MAX_IFNAME || /[\s/]/.test(v)) {
    f.error(
      `expected an interface name of at most ${MAX_IFNAME - extra} characters without spaces or "/" (iptables limit), got ${quote(v)}`,
    );
    return undefined;
  }
  return v;
}

/**
 * Reads `spec.kubeProxy` and `spec.iptables` of a Cluster (or the defaults for an absent one) with the
 * Cluster's clusterCIDR; undefined when something is invalid (reported at the field).
 */
export function parseKubeProxy(spec: Field, clusterCIDR: Cidr | undefined): KubeProxyModel | undefined {
  let ok = true;
  const it = spec.map('iptables');
  const randomFully = (it ?? spec.child('iptables')).bool('randomFully', { default: KUBE_PROXY_DEFAULTS.randomFully });
  if (randomFully === undefined || (spec.child('iptables').present && it === undefined)) ok = false;

  const kpF = spec.child('kubeProxy');
  const f = spec.map('kubeProxy');
  if (f === undefined) {
    if (kpF.present || !ok || clusterCIDR === undefined) return undefined;
    return {
      ...KUBE_PROXY_DEFAULTS,
      randomFully: randomFully!,
      nodePortAddresses: undefined,
      detectLocal: { mode: 'ClusterCIDR', cidr: clusterCIDR },
    };
  }
  const config = readKubeProxyConfiguration(f, clusterCIDR);
  return ok && config !== undefined ? { ...config, randomFully: randomFully! } : undefined;
}

/**
 * Reads a KubeProxyConfiguration mapping (`spec.kubeProxy`, or a kube-proxy ConfigMap's `config.conf`) with the
 * Cluster's clusterCIDR; undefined when something is invalid (reported at the field).
 */
function readKubeProxyConfiguration(
  f: Field,
  clusterCIDR: Cidr | undefined,
): Omit<KubeProxyModel, 'randomFully'> | undefined {
  let ok = true;
  noticeUnknown(f, [...READ_TOP, ...IGNORED_TOP], KIND);
  if (
    f.child('apiVersion').present &&
    f.str('apiVersion', { check: (v) => (v === API_VERSION ? undefined : quote(API_VERSION)) }) === undefined
  )
    ok = false;
  if (f.child('kind').present && f.str('kind', { check: (v) => (v === KIND ? undefined : quote(KIND)) }) === undefined)
    ok = false;
  const modeF = f.child('mode');
  const proxyMode = modeF.present ? modeF.raw() : '';
  if (proxyMode === 'ipvs' || proxyMode === 'nftables') {
    modeF.error(`podnet emulates kube-proxy's iptables mode only; use "iptables" or leave mode empty`);
    ok = false;
  } else if (proxyMode !== '' && proxyMode !== 'iptables') {
    modeF.typeError('"iptables" or "" (the proxy mode; ipvs and nftables are not emulated)');
    ok = false;
  }

  const ipt = f.map('iptables');
  if (ipt !== undefined) noticeUnknown(ipt, IPTABLES_FIELDS, `${KIND} iptables`);
  else if (f.child('iptables').present) ok = false;
  const ipf = ipt ?? f.child('iptables');
  const masqueradeAll = ipf.bool('masqueradeAll', { default: KUBE_PROXY_DEFAULTS.masqueradeAll });
  const masqueradeBit = ipf.int('masqueradeBit', 0, 31, { default: KUBE_PROXY_DEFAULTS.masqueradeBit });
  const localhostNodePorts = ipf.bool('localhostNodePorts', { default: KUBE_PROXY_DEFAULTS.localhostNodePorts });

  const ct = f.map('conntrack');
  if (ct !== undefined) noticeUnknown(ct, CONNTRACK_FIELDS, `${KIND} conntrack`);
  else if (f.child('conntrack').present) ok = false;
  const tcpBeLiberal = (ct ?? f.child('conntrack')).bool('tcpBeLiberal', {
    default: KUBE_PROXY_DEFAULTS.conntrackTCPBeLiberal,
  });

  const nodePortAddresses = readNodePortAddresses(f);
  if (nodePortAddresses === null) ok = false;

  // The detector (cmd/kube-proxy/app/server_linux.go getLocalDetectors): an empty mode is ClusterCIDR.
  const detectModeF = f.child('detectLocalMode');
  const rawMode = detectModeF.present ? detectModeF.raw() : '';
  const mode = rawMode === '' ? 'ClusterCIDR' : f.oneOf('detectLocalMode', [...MODES, ''] as const);
  const dl = f.map('detectLocal');
  if (dl !== undefined) noticeUnknown(dl, DETECT_LOCAL_FIELDS, `${KIND} detectLocal`);
  else if (f.child('detectLocal').present) ok = false;
  const dlf = dl ?? f.child('detectLocal');
  for (const key of DETECT_LOCAL_FIELDS) {
    const kf = dlf.child(key);
    if (kf.present && typeof kf.raw() !== 'string') {
      kf.typeError('an interface name');
      ok = false;
    }
  }
  const ccText = readClusterCIDR(f);
  if (ccText === null) ok = false;
  let detectLocal: LocalDetectorModel | undefined;
  switch (mode) {
    case 'ClusterCIDR':
    case '': {
      const cidr = ccText === undefined ? clusterCIDR : ccText === null ? undefined : ccText;
      if (cidr !== undefined) detectLocal = cidr === 'none' ? { mode: 'NoOp' } : { mode: 'ClusterCIDR', cidr };
      break;
    }
    case 'NodeCIDR':
      detectLocal = { mode: 'NodeCIDR' };
      break;
    case 'BridgeInterface': {
      const name = readIfName(dlf, 'bridgeInterface', detectModeF, mode, 0);
      if (name !== undefined) detectLocal = { mode, bridgeInterface: name };
      break;
    }
    case 'InterfaceNamePrefix': {
      const prefix = readIfName(dlf, 'interfaceNamePrefix', detectModeF, mode, 1);
      if (prefix !== undefined) detectLocal = { mode, interfaceNamePrefix: prefix };
      break;
    }
    case undefined:
      break;
  }
  if (
    !ok ||
    detectLocal === undefined ||
    masqueradeAll === undefined ||
    masqueradeBit === undefined ||
    localhostNodePorts === undefined ||
    tcpBeLiberal === undefined ||
    nodePortAddresses === null
  )
    return undefined;
  return {
    masqueradeAll,
    masqueradeBit,
    localhostNodePorts,
    nodePortAddresses,
    detectLocal,
    conntrackTCPBeLiberal: tcpBeLiberal,
  };
}

// ---------------------------------------------------------------------------------------------
// The kube-proxy ConfigMap of an export
// ---------------------------------------------------------------------------------------------

/** The `kube-system/kube-proxy` ConfigMap's `data["config.conf"]`, as found (the first one). */
const KUBE_PROXY_CONFIGMAP = new StateKey<{ found: { value: Field; label: string } | undefined }>(
  'kubeProxyConfigMap',
  () => ({ found: undefined }),
);

/**
 * Reads ConfigMaps: kubeadm's `kube-system/kube-proxy` (its `config.conf` holds kube-proxy's
 * KubeProxyConfiguration) is kept for {@link withKubeProxyConfigMap}; every other ConfigMap is
 * listed as ignored, as kinds without a reader are.
 */
export const configMapKind: KindReader = {
  kind: 'ConfigMap',
  apiVersions: undefined,
  namespaced: true,
  read(obj, state) {
    const s = state.get(KUBE_PROXY_CONFIGMAP);
    const value = obj.root.child('data').child('config.conf');
    const isKubeProxy = obj.effectiveNamespace === 'kube-system' && obj.name === 'kube-proxy';
    if (isKubeProxy && s.found === undefined && typeof value.raw() === 'string') {
      s.found = { value, label: obj.label };
      return;
    }
    noticeIgnored(state.sink, obj, obj.label);
  },
};

/** The `kube-system/kube-proxy` ConfigMap's `data["config.conf"]` field, when the input has one. */
export function kubeProxyConfigMapValue(state: LoadState): Field | undefined {
  return state.get(KUBE_PROXY_CONFIGMAP).found?.value;
}

/**
 * Maps offsets in a block scalar's text to the file: the value's line k is the source's line k,
 * shifted by the block's indentation (a quoted string, as JSON writes it, maps to its start).
 */
class EmbeddedLines extends LineCounter {
  constructor(outer: LineCounter, inner: LineCounter, scalar: Scalar) {
    super();
    for (const l of inner.lineStarts) this.lineStarts.push(l);
    const tok = scalar.srcToken;
    let rawStarts: number[] | undefined;
    let indent = 0;
    if (tok !== undefined && tok.type === 'block-scalar') {
      const nl = tok.props.find((t) => t.type === 'newline');
      if (nl !== undefined) {
        const base = nl.offset + 1;
        rawStarts = [base];
        for (let i = 0; i < tok.source.length; i++) if (tok.source[i] === '\n') rawStarts.push(base + i + 1);
        indent = /^ */.exec(tok.source.split('\n').find((l) => l.trim() !== '') ?? '')![0].length;
      }
    }
    const start = scalar.range?.[0] ?? 0;
    this.linePos = (offset: number): { line: number; col: number } => {
      if (rawStarts === undefined) return outer.linePos(start);
      const p = inner.linePos(offset);
      const lineStart = rawStarts[Math.max(0, p.line - 1)] ?? rawStarts[rawStarts.length - 1]!;
      return outer.linePos(lineStart + indent + Math.max(0, p.col - 1));
    };
  }
}

/** The KubeProxyConfiguration of a ConfigMap value, as a field positioned in the file; undefined when broken. */
function embeddedConfig(value: Field, label: string): Field | undefined {
  const node = value.node;
  if (node === undefined || !isScalar(node) || typeof node.value !== 'string') return undefined;
  const inner = new LineCounter();
  const doc = parseDocument(node.value, {
    lineCounter: inner,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const lines = new EmbeddedLines(value.ctx.lines, inner, node);
  const root = Field.root({ file: value.ctx.file, lines, doc, sink: value.ctx.sink }, doc.contents, label);
  for (const e of doc.errors) root.error(`config.conf: ${e.message.split('\n')[0]}`, e.pos[0]);
  if (doc.errors.length > 0) return undefined;
  if (!root.isMap) {
    root.typeError('a KubeProxyConfiguration (a mapping) in data["config.conf"]');
    return undefined;
  }
  return root;
}

/**
 * The Cluster with kube-proxy's settings from the input's `kube-system/kube-proxy` ConfigMap
 * (`data["config.conf"]`, as kubeadm writes it) when the Cluster document does not set
 * `spec.kubeProxy`; one notice says which settings were used.
 */
export function withKubeProxyConfigMap<D extends ClusterKubeProxy>(state: LoadState, draft: D): D {
  const found = state.get(KUBE_PROXY_CONFIGMAP).found;
  if (found === undefined) return draft;
  if (draft.kubeProxyGiven === true) {
    found.value.notice(`not read: the Cluster's spec.kubeProxy sets kube-proxy's settings`);
    return draft;
  }
  const root = embeddedConfig(found.value, found.label);
  const config = root === undefined ? undefined : readKubeProxyConfiguration(root, draft.clusterCIDR);
  if (config === undefined || draft.kubeProxy === undefined) return { ...draft, kubeProxy: undefined };
  found.value.notice(`kube-proxy's settings are read from this KubeProxyConfiguration`);
  return { ...draft, kubeProxy: { ...config, randomFully: draft.kubeProxy.randomFully } };
}

/** What {@link withKubeProxyConfigMap} needs of a Cluster draft. */
export interface ClusterKubeProxy {
  readonly clusterCIDR: Cidr | undefined;
  readonly kubeProxy?: KubeProxyModel | undefined;
  /** The Cluster document has `spec.kubeProxy`. */
  readonly kubeProxyGiven?: boolean | undefined;
}
