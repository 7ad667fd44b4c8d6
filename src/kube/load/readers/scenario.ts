/**
 * podnet `Scenario` (podnet.dev/v1alpha1): the probes to run. At most one per input.
 *
 * Probe defaults: name `<protocol>-<index>` (0-based); protocol tcp when a port is given (in
 * `port` or as `to: …:<port>`), else icmp; count 1 (tcp/udp) or 3 (icmp); size 56 (icmp) or
 * 6 (udp, "probe\n" as the kernel oracle's socat sends); `size` is not allowed for tcp (the
 * servers send a line on accept and close); pmtudisc want (`df: true` → do, `df: false` →
 * dont); interval 1s; start 0s; timeout 2s. `spec.parallel` (default false) starts all probes
 * together instead of one after another.
 *
 * `from` accepts `<pod>`, `<namespace>/<pod>`, `pod/<pod>`, `pod/<namespace>/<pod>`, `node/<node>`
 * and `ext/<external host>` and is normalised to `pod/<ns>/<name>`, `node/<name>` or `ext/<name>`.
 * `to` accepts `<ip>`, `<ip>:<port>`, `pod/<pod>`, `pod/<namespace>/<pod>`, `node/<node>` and
 * `ext/<host>` or a DNS name, optionally with `:<port>`; it is kept verbatim (the network resolves it) after
 * checking syntax and references.
 */
import type { Nanos } from '../../../sim/time.js';
import { MAX_DURATION, MAX_DURATION_TEXT, NS_PER_S } from '../../../sim/time.js';
import type { ProbeExpectation, ProbeModel, ProbeProtocol, ScenarioModel, SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import { readName } from '../metadata.js';
import { StateKey, whereText, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import { dnsLabel, dnsSubdomain, parseIpv4, quote } from '../values.js';
import { clusterDraft } from './cluster.js';
import { isHostName } from './dns.js';
import { findPod, namespacesWithPod, noNetworkReason } from './pod.js';
import { checkScenarioFields } from './own-fields.js';

/** The Scenario's name when it has none. */
export const SCENARIO_DEFAULT_NAME = 'scenario';

const PROTOCOLS = ['icmp', 'tcp', 'udp'] as const;

type Endpoint =
  | { readonly type: 'pod'; readonly namespace: string; readonly name: string }
  | { readonly type: 'node'; readonly name: string }
  | { readonly type: 'ext'; readonly name: string };

/** A probe as read; references are checked once all pods and the cluster are known. */
interface ProbeDraft {
  readonly fields: Omit<ProbeModel, 'from'> | undefined;
  readonly from: Endpoint | undefined;
  readonly fromField: Field;
  readonly toPod: Endpoint | undefined;
  readonly toField: Field;
}

interface ScenarioDraft {
  readonly name: string;
  readonly parallel: boolean | undefined;
  readonly duration: Nanos | undefined;
  readonly durationOk: boolean;
  readonly probes: readonly ProbeDraft[] | undefined;
  readonly source: SourceRef;
}

interface ScenarioState {
  first: ObjectInput | undefined;
  draft: ScenarioDraft | undefined;
  model: ScenarioModel | undefined;
}

const SCENARIO = new StateKey<ScenarioState>('scenario', () => ({
  first: undefined,
  draft: undefined,
  model: undefined,
}));

/** The validated scenario, if a Scenario document was given and had no errors. */
export function scenarioModel(state: LoadState): ScenarioModel | undefined {
  return state.get(SCENARIO).model;
}

/** Reads the Scenario document (at most one); its references are checked once every pod exists. */
export const scenarioKind: KindReader = {
  kind: 'Scenario',
  apiVersions: ['podnet.dev/v1alpha1'],
  namespaced: false,
  read(obj, state) {
    const s = state.get(SCENARIO);
    if (s.first !== undefined) {
      obj.root.error(
        `only one Scenario document is allowed; ${s.first.label} is already defined at ${whereText(s.first.source, obj.source.file)}`,
      );
      return;
    }
    s.first = obj;
    checkScenarioFields(obj.root);
    s.draft = parseScenario(obj.root, obj.source);
  },
};

/** Checks that the pods, nodes and hosts the probes name exist; the model is `scenarioModel` then. */
export function checkScenarioReferences(state: LoadState): void {
  const s = state.get(SCENARIO);
  if (s.draft !== undefined) s.model = resolveScenario(state, s.draft);
}

/** The most packets a Scenario's probes may send in all (their counts added up): a run of 1.2 GiB, 84 s. */
export const MAX_PROBE_PACKETS = 1_000_000;

function parseScenario(root: Field, source: SourceRef): ScenarioDraft {
  const name = readName(root, { check: dnsSubdomain }) ?? SCENARIO_DEFAULT_NAME;
  const spec = root.child('spec');
  const duration = spec.duration('duration', { positive: true });
  const parallel = spec.bool('parallel', { default: false });
  const items = spec.list('probes', { itemName: 'probe' });
  const probesAbsent = !spec.child('probes').present;
  let probes: ProbeDraft[] | undefined = probesAbsent ? [] : undefined;
  if (items !== undefined) {
    probes = [];
    const names = new Map<string, string>();
    items.forEach((item, index) => {
      if (!item.isMap) {
        item.typeError('a mapping (a probe with from, to, protocol, …)');
        return;
      }
      const p = parseProbe(item, index);
      const pname = p.fields?.name;
      if (pname !== undefined) {
        const prev = names.get(pname);
        if (prev !== undefined)
          (item.child('name').present ? item.child('name') : item).error(
            `duplicate probe name ${quote(pname)} (also ${prev})`,
          );
        else names.set(pname, item.path);
      }
      probes?.push(p);
    });
    // memory follows the packets a run sends (about 1.2 KiB each, results kept): the run's total is bounded
    const packets = (probes ?? []).reduce((n, p) => n + (p.fields?.count ?? 0), 0);
    if (packets > MAX_PROBE_PACKETS)
      spec
        .child('probes')
        .error(
          `${packets.toLocaleString('en-US')} probe packets in all (the probes' counts added up), more than the limit of ${MAX_PROBE_PACKETS.toLocaleString('en-US')} per run`,
        );
  }
  return {
    name,
    parallel,
    duration,
    durationOk: duration !== undefined || !spec.child('duration').present,
    probes,
    source,
  };
}

const FROM_FORMS = '<pod>, <namespace>/<pod>, pod/<pod>, pod/<namespace>/<pod>, node/<node> or ext/<host>';
const TO_FORMS =
  '<ip>, <ip>:<port>, pod/<pod>, pod/<namespace>/<pod>, node/<node> or ext/<host>, optionally followed by :<port>';

function parseFrom(text: string): Endpoint | undefined {
  const parts = text.split('/');
  const ok = (ns: string | undefined, name: string | undefined): Endpoint | undefined =>
    ns !== undefined && name !== undefined && dnsLabel(ns) === undefined && dnsSubdomain(name) === undefined
      ? { type: 'pod', namespace: ns, name }
      : undefined;
  const [a, b, c] = parts;
  if (parts.length === 2 && (a === 'node' || a === 'ext') && b !== undefined) {
    return dnsLabel(b) === undefined ? { type: a, name: b } : undefined;
  }
  if (a === 'pod') {
    if (parts.length === 2) return ok('default', b);
    if (parts.length === 3) return ok(b, c);
    return undefined;
  }
  if (parts.length === 1) return ok('default', a);
  if (parts.length === 2) return ok(a, b);
  return undefined;
}

/** Splits `to`: a pod reference and/or a port; `ok: false` when the syntax is wrong. */
function parseTo(
  text: string,
): { ok: true; pod: Endpoint | undefined; port: number | undefined } | { ok: false; why: string | undefined } {
  const m = /^(.*?)(?::(\d+))?$/.exec(text);
  const target = m?.[1] ?? text;
  const portText = m?.[2];
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      return { ok: false, why: `port ${portText} is outside 1–65535` };
  }
  if (parseIpv4(target) !== undefined) return { ok: true, pod: undefined, port };
  if (target.startsWith('node/') || target.startsWith('ext/')) {
    const [kind, name, ...rest] = target.split('/');
    if (rest.length === 0 && name !== undefined && dnsLabel(name) === undefined)
      return { ok: true, pod: { type: kind as 'node' | 'ext', name }, port };
  }
  if (target.startsWith('pod/')) {
    const parts = target.split('/');
    const ns = parts.length === 3 ? parts[1] : 'default';
    const name = parts.length === 3 ? parts[2] : parts[1];
    if (
      (parts.length === 2 || parts.length === 3) &&
      ns !== undefined &&
      name !== undefined &&
      dnsLabel(ns) === undefined &&
      dnsSubdomain(name) === undefined
    ) {
      return { ok: true, pod: { type: 'pod', namespace: ns, name }, port };
    }
  }
  // a DNS name, resolved from the probe's source pod at run time (src/apps/resolver.ts)
  if (isHostName(target)) return { ok: true, pod: undefined, port };
  return { ok: false, why: undefined };
}

function parseProbe(p: Field, index: number): ProbeDraft {
  // from
  const fromField = p.child('from');
  const fromText = p.str('from', { required: true, expected: FROM_FORMS });
  let from: Endpoint | undefined;
  if (fromText !== undefined) {
    from = parseFrom(fromText);
    if (from === undefined) fromField.typeError(FROM_FORMS);
  }

  // to
  const toField = p.child('to');
  const toText = p.str('to', { required: true, expected: TO_FORMS });
  let toOk = toText !== undefined;
  let toPod: Endpoint | undefined;
  let toPort: number | undefined;
  if (toText !== undefined) {
    const t = parseTo(toText);
    if (t.ok) {
      toPod = t.pod;
      toPort = t.port;
    } else {
      toOk = false;
      if (t.why !== undefined) toField.error(`${t.why} in ${quote(toText)}`);
      else toField.typeError(TO_FORMS);
    }
  }

  // port and protocol
  const portField = p.child('port');
  let port = p.int('port', 1, 65535);
  let portOk = !portField.present || port !== undefined;
  if (port !== undefined && toPort !== undefined && port !== toPort) {
    portField.error(`port ${port} conflicts with port ${toPort} given in to (${quote(toText ?? '')})`);
    portOk = false;
  }
  port ??= toPort;
  const protocol: ProbeProtocol | undefined = p.oneOf('protocol', PROTOCOLS, {
    ignoreCase: true,
    default: port !== undefined ? 'tcp' : 'icmp',
  });
  let protoOk = protocol !== undefined;
  if (protocol === 'icmp' && port !== undefined) {
    const where = portField.present ? portField : toField;
    where.error(
      portField.present
        ? 'a port is not allowed for icmp probes (ICMP has no ports); use protocol tcp or udp'
        : `a port in to (${quote(toText ?? '')}) is not allowed for icmp probes (ICMP has no ports); use protocol tcp or udp`,
    );
    protoOk = false;
  }
  if ((protocol === 'tcp' || protocol === 'udp') && port === undefined && toOk && portOk) {
    const example = toPod !== undefined ? `to: ${toText ?? ''}:8080` : 'to: <ip>:<port>';
    portField.error(`missing required field for ${protocol} probes, expected an integer 1–65535 (or write ${example})`);
    protoOk = false;
  }

  const spField = p.child('sourcePort');
  const sourcePort = p.int('sourcePort', 1, 65535);
  let spOk = !spField.present || sourcePort !== undefined;
  if (protocol === 'icmp' && sourcePort !== undefined) {
    spField.error('sourcePort is not allowed for icmp probes (ICMP has no ports)');
    spOk = false;
  }

  const count = p.int('count', 1, 100000, { default: protocol === 'icmp' ? 3 : 1 });
  const sizeField = p.child('size');
  const tcpSize = protocol === 'tcp' && sizeField.present;
  if (tcpSize)
    sizeField.error(
      "size is not allowed for tcp probes: podnet's TCP servers send one line on accept and close (size applies to icmp and udp)",
    );
  const size = tcpSize
    ? undefined
    : p.int('size', 0, 65507, { default: protocol === 'icmp' ? 56 : protocol === 'udp' ? 6 : 0 });

  // df / pmtudisc
  const dfField = p.child('df');
  const pmField = p.child('pmtudisc');
  let pmtudisc: ProbeModel['pmtudisc'] | undefined = 'want';
  if (dfField.present && pmField.present) {
    pmField.error('give either df or pmtudisc, not both (df: true is pmtudisc: do, df: false is pmtudisc: dont)');
    pmtudisc = undefined;
  } else if (dfField.present) {
    const df = p.bool('df');
    pmtudisc = df === undefined ? undefined : df ? 'do' : 'dont';
  } else if (pmField.present) {
    pmtudisc = p.oneOf('pmtudisc', ['do', 'dont', 'want'] as const);
  }

  const interval = p.duration('interval', { default: NS_PER_S });
  const start = p.duration('start', { default: 0 });
  const timeout = p.duration('timeout', { default: 2 * NS_PER_S, positive: true });
  let timesOk = true;
  if (count !== undefined && interval !== undefined && start !== undefined && timeout !== undefined) {
    // virtual time is exact to 2^53 ns: the probe's last wait must end before that, as each duration does
    if (start + (count - 1) * interval + timeout > MAX_DURATION) {
      p.child('interval').error(
        `start + (count - 1) × interval + timeout ends past the limit of virtual time, ${MAX_DURATION_TEXT}`,
      );
      timesOk = false;
    }
  }
  const name = p.str('name', { check: dnsSubdomain, default: `${protocol ?? 'probe'}-${index}` });
  const expectField = p.child('expect');
  const expectation = expectField.present ? parseExpectation(expectField, count ?? 1) : undefined;
  const expectOk = !expectField.present || expectation !== undefined;

  const pm = pmtudisc;
  const complete =
    toOk &&
    portOk &&
    protoOk &&
    spOk &&
    toText !== undefined &&
    protocol !== undefined &&
    count !== undefined &&
    size !== undefined &&
    pm !== undefined &&
    interval !== undefined &&
    start !== undefined &&
    timeout !== undefined &&
    timesOk &&
    name !== undefined &&
    expectOk;
  return {
    fields: complete
      ? {
          name,
          to: toText,
          protocol,
          port,
          sourcePort,
          count,
          size,
          pmtudisc: pm,
          interval,
          start,
          timeout,
          expect: expectation,
          source: p.source(),
        }
      : undefined,
    from,
    fromField,
    toPod,
    toField,
  };
}

/** A string or a list of strings (`answeredBy: web-0` or `answeredBy: [web-0, web-1]`). */
function stringOrList(f: Field, path: string, check?: (v: string) => string | undefined): string[] | undefined {
  const c = f.child(path);
  if (!c.present) return undefined;
  if (c.isList) {
    const items = f.list(path) ?? [];
    const out: string[] = [];
    for (const it of items) {
      const v = it.str('', check !== undefined ? { check } : {});
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  }
  const v = f.str(path, { expected: 'a string or a list of strings', ...(check !== undefined ? { check } : {}) });
  return v === undefined ? undefined : [v];
}

/** `expect:` of a probe. */
function parseExpectation(f: Field, count: number): ProbeExpectation | undefined {
  if (!f.isMap) {
    f.typeError('a mapping (replies, lost, ttl, answeredBy, serverSaw, error, sameAnswer)');
    return undefined;
  }
  const replies = f.int('replies', 0, count);
  const lost = f.int('lost', 0, count);
  const ttl = f.int('ttl', 0, 255);
  const answeredBy = stringOrList(f, 'answeredBy');
  const serverSaw = stringOrList(f, 'serverSaw', (v) => (parseIpv4(v) === undefined ? 'an IPv4 address' : undefined));
  const error = f.str('error');
  const sameAnswer = f.bool('sameAnswer');
  const bad = (path: string, v: unknown): boolean => f.child(path).present && v === undefined;
  if (
    bad('replies', replies) ||
    bad('lost', lost) ||
    bad('ttl', ttl) ||
    bad('answeredBy', answeredBy) ||
    bad('serverSaw', serverSaw) ||
    bad('error', error) ||
    bad('sameAnswer', sameAnswer)
  )
    return undefined;
  return { replies, lost, ttl, answeredBy, serverSaw, error, sameAnswer };
}

function endpointText(e: Endpoint): string {
  return e.type === 'pod' ? `pod/${e.namespace}/${e.name}` : `${e.type}/${e.name}`;
}

/** Checks that referenced pods, nodes and hosts exist; builds the model when all is well. */
function resolveScenario(state: LoadState, draft: ScenarioDraft): ScenarioModel | undefined {
  const cluster = clusterDraft(state);
  const exists = (e: Endpoint, f: Field, role: string): boolean => {
    switch (e.type) {
      case 'pod': {
        const pod = findPod(state, e.namespace, e.name);
        const noNetwork = pod !== undefined ? noNetworkReason(pod) : undefined;
        if (noNetwork !== undefined) {
          f.error(`${role} Pod ${e.namespace}/${e.name} has no network (${noNetwork}): it can send and answer nothing`);
          return false;
        }
        if (pod !== undefined || state.mayExistInBroken('Pod', e.namespace, e.name)) return true;
        const elsewhere = namespacesWithPod(state, e.name);
        const hint =
          elsewhere.length > 0
            ? ` (did you mean ${elsewhere.map((ns) => (role === 'source' ? `${ns}/${e.name}` : `pod/${ns}/${e.name}`)).join(' or ')}?)`
            : '';
        f.error(`${role} Pod ${e.namespace}/${e.name} does not exist${hint}`);
        return false;
      }
      case 'node': {
        if (cluster === undefined || !cluster.nodesKnown || cluster.nodes.some((n) => n.name === e.name)) return true;
        f.error(`${role} node ${quote(e.name)} does not exist (nodes: ${cluster.nodes.map((n) => n.name).join(', ')})`);
        return false;
      }
      case 'ext': {
        if (cluster === undefined || !cluster.externalHostsKnown || cluster.externalHostNames.has(e.name)) return true;
        const known = [...cluster.externalHostNames];
        f.error(
          `${role} external host ${quote(e.name)} does not exist (${known.length > 0 ? `external hosts: ${known.join(', ')}` : 'the Cluster declares no externalHosts'})`,
        );
        return false;
      }
    }
  };
  const probes: ProbeModel[] = [];
  let ok = draft.probes !== undefined && draft.durationOk;
  for (const p of draft.probes ?? []) {
    const fromOk = p.from !== undefined && exists(p.from, p.fromField, 'source');
    const toOk = p.toPod === undefined || exists(p.toPod, p.toField, 'destination');
    if (p.fields === undefined || p.from === undefined || !fromOk || !toOk) {
      ok = false;
      continue;
    }
    probes.push({ ...p.fields, from: endpointText(p.from) });
  }
  return ok && draft.parallel !== undefined
    ? { name: draft.name, probes, duration: draft.duration, parallel: draft.parallel }
    : undefined;
}

/**
 * When the scenario ends at the latest (ns): its `duration`, or the time its probes can take at
 * most (starts, intervals and timeouts added up; for parallel probes the longest one), whichever
 * is later; 0 without a Scenario. CronJob runs are modelled up to this time.
 */
export function scenarioEnd(state: LoadState): Nanos {
  const d = state.get(SCENARIO).draft;
  if (d === undefined) return 0;
  let total = 0;
  for (const p of d.probes ?? []) {
    const f = p.fields;
    if (f === undefined) continue;
    const one = f.start + Math.max(0, f.count - 1) * f.interval + f.timeout;
    total = d.parallel === true ? Math.max(total, one) : total + one;
  }
  return Math.max(total, d.duration ?? 0);
}
