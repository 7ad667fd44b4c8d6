/**
 * What listens in a pod. `containerPort` is, in the API's words, primarily informational: nginx
 * listens on 80 whether or not its manifest says so. podnet runs its echo server (apps/servers.ts)
 * on every port a pod's containers evidently listen on:
 *
 *   1. every declared container port (its protocol);
 *   2. every port a kubelet probe connects to (liveness, readiness, startup; httpGet, tcpSocket,
 *      grpc; a number, or a name resolved in the container's ports, see readers/listen.ts), over
 *      TCP. The probe's `host` decides the address: absent or the pod's own IP (a hostNetwork pod's
 *      is its node's), every address; a loopback address (or `localhost`), that address only, as
 *      kubeadm's controller-manager and scheduler bind 127.0.0.1 and probe it there; any other host
 *      is not this pod, and nothing is inferred;
 *   3. every numeric `targetPort` of a Service (not ExternalName) whose selector selects the pod,
 *      with the Service port's protocol (named targetPorts resolve to declared ports already);
 * hostNetwork pods included (an exported kube-apiserver static pod declares no port; its liveness
 * probe on 6443 makes `kubernetes.default:443` answer). A pod annotated `podnet.dev/listen`
 * listens on exactly what the annotation lists instead: it replaces 1–3.
 *
 * Each user pod listening on a port none of its containers declares gets one notice naming the
 * ports and why; the pods a workload's controller makes share their template, so they get one
 * notice per workload (at its template's containers) rather than one per replica.
 */
import { formatIpv4, parseIpv4 } from '../../wire/addr.js';
import type { Ipv4Addr, ListenerModel, ListenerReason, PodModel, ServiceModel } from '../model.js';
import { selectorIndex } from './controllers/endpointslice-controller.js';
import type { PodDraft, PodSpecDraft } from './readers/pod.js';

const LOOPBACK = 0x7f000001;

/**
 * The pods with their listeners; `draftOf` gives each pod's draft (its spec's probes and
 * annotation). Notices go to the spec's `containers` field.
 */
export function withListeners(
  pods: readonly PodModel[],
  services: readonly ServiceModel[],
  draftOf: (pod: PodModel) => PodDraft | undefined,
): PodModel[] {
  const fromServices = serviceTargetPorts(pods, services);
  const out: PodModel[] = [];
  // notices of a workload's pods, grouped by their shared template spec and text
  const groups = new Map<PodSpecDraft, Map<string, { draft: PodDraft; pods: string[]; count: number }>>();
  for (const pod of pods) {
    const draft = draftOf(pod);
    const listeners = listenersOf(pod, draft, fromServices.get(pod) ?? []);
    out.push({ ...pod, listeners });
    if (draft === undefined || draft.origin === 'addon' || draft.spec.listen !== undefined) continue;
    const text = undeclaredText(pod, listeners);
    if (text === undefined) continue;
    if (draft.who === 'this pod') {
      draft.spec.field.child('containers').notice(`${text.text}${hint(text.count)}`);
      continue;
    }
    let byText = groups.get(draft.spec);
    if (byText === undefined) groups.set(draft.spec, (byText = new Map()));
    const g = byText.get(text.text);
    if (g === undefined) byText.set(text.text, { draft, pods: [pod.name], count: text.count });
    else g.pods.push(pod.name);
  }
  for (const byText of groups.values()) {
    for (const [text, g] of byText) {
      const who =
        g.pods.length === 1
          ? `its pod ${g.pods[0]!} listens`
          : `its ${g.pods.length} pods (${g.pods.slice(0, 3).join(', ')}${g.pods.length > 3 ? ', …' : ''}) listen`;
      g.draft.spec.field.child('containers').notice(`${who}${text.slice('listens'.length)}${hint(g.count)}`);
    }
  }
  return out;
}

/** The listeners of one pod (see the header for the rules). */
function listenersOf(
  pod: PodModel,
  draft: PodDraft | undefined,
  services: readonly { port: number; protocol: ListenerModel['protocol']; service: string }[],
): ListenerModel[] {
  const listen = draft?.spec.listen;
  if (listen !== undefined) {
    return listen.map((e) => ({ port: e.port, protocol: e.protocol, reasons: [{ kind: 'annotation' }] }));
  }
  const acc = new Listeners();
  for (const c of pod.containers) {
    for (const p of c.ports)
      acc.add(p.containerPort, p.protocol, undefined, { kind: 'containerPort', container: c.name });
  }
  for (const pr of draft?.spec.probePorts ?? []) {
    const address = probeAddress(pr.host, pod.ip);
    if (address === null) continue;
    acc.add(pr.port, 'TCP', address, { kind: 'probe', container: pr.container, probe: pr.probe, action: pr.action });
  }
  for (const s of services) acc.add(s.port, s.protocol, undefined, { kind: 'service', service: s.service });
  return acc.list();
}

/** The address a probe to `host` shows a listener on: undefined for every address, null when not this pod. */
function probeAddress(host: string | undefined, podIP: Ipv4Addr): Ipv4Addr | undefined | null {
  if (host === undefined) return undefined;
  if (host.toLowerCase() === 'localhost') return LOOPBACK;
  const ip = parseIpv4(host);
  if (ip === undefined) return null;
  if (ip === podIP) return undefined;
  return ip >>> 24 === 127 ? ip : null;
}

/** Listeners keyed by port and protocol: a listener on every address absorbs loopback-only ones. */
class Listeners {
  private readonly byKey = new Map<
    string,
    { port: number; protocol: ListenerModel['protocol']; address: Ipv4Addr | undefined; reasons: ListenerReason[] }[]
  >();
  private readonly order: string[] = [];

  add(port: number, protocol: ListenerModel['protocol'], address: Ipv4Addr | undefined, reason: ListenerReason): void {
    const key = `${port}/${protocol}`;
    let at = this.byKey.get(key);
    if (at === undefined) {
      this.byKey.set(key, (at = []));
      this.order.push(key);
    }
    const any = at.find((l) => l.address === undefined);
    if (any !== undefined) {
      any.reasons.push(reason);
      return;
    }
    if (address === undefined) {
      // bound to every address from now on: the loopback-only reasons join it
      const reasons = at.flatMap((l) => l.reasons);
      at.length = 0;
      at.push({ port, protocol, address: undefined, reasons: [...reasons, reason] });
      return;
    }
    const same = at.find((l) => l.address === address);
    if (same !== undefined) same.reasons.push(reason);
    else at.push({ port, protocol, address, reasons: [reason] });
  }

  list(): ListenerModel[] {
    return this.order.flatMap((k) =>
      (this.byKey.get(k) ?? []).map((l) => ({
        port: l.port,
        protocol: l.protocol,
        ...(l.address !== undefined ? { address: l.address } : {}),
        reasons: l.reasons,
      })),
    );
  }
}

/** Per pod, the numeric targetPorts of the Services selecting it. */
function serviceTargetPorts(
  pods: readonly PodModel[],
  services: readonly ServiceModel[],
): Map<PodModel, Array<{ port: number; protocol: ListenerModel['protocol']; service: string }>> {
  const out = new Map<PodModel, Array<{ port: number; protocol: ListenerModel['protocol']; service: string }>>();
  const selected = selectorIndex(pods);
  for (const svc of services) {
    const sel = svc.selector;
    if (svc.type === 'ExternalName' || sel === undefined || Object.keys(sel).length === 0) continue;
    const numeric = svc.ports.filter((p) => typeof p.targetPort === 'number');
    if (numeric.length === 0) continue;
    for (const pod of selected(svc.namespace, sel)) {
      let l = out.get(pod);
      if (l === undefined) out.set(pod, (l = []));
      for (const p of numeric) {
        l.push({ port: p.targetPort as number, protocol: p.protocol, service: `${svc.namespace}/${svc.name}` });
      }
    }
  }
  return out;
}

/** What to do about undeclared listeners (`count` of them). */
function hint(count: number): string {
  const declare = count === 1 ? 'it as a containerPort' : 'them as containerPorts';
  return `; declare ${declare}, or state the pod's listeners in its podnet.dev/listen annotation`;
}

/** `listens on ports …` for the listeners no container declares (and how many); undefined when there are none. */
function undeclaredText(
  pod: PodModel,
  listeners: readonly ListenerModel[],
): { text: string; count: number } | undefined {
  const declared = new Set(pod.containers.flatMap((c) => c.ports.map((p) => `${p.containerPort}/${p.protocol}`)));
  const parts: string[] = [];
  for (const l of listeners) {
    if (declared.has(`${l.port}/${l.protocol}`)) continue;
    const why = reasonsText(l.reasons);
    const at = l.address !== undefined ? ` on ${formatIpv4(l.address)}` : '';
    parts.push(`${l.port}/${l.protocol}${at} (${why})`);
  }
  if (parts.length === 0) return undefined;
  const text = `listens on ${parts.length === 1 ? 'a port' : 'ports'} no container declares: ${parts.join(', ')}`;
  return { text, count: parts.length };
}

/** The reasons, a container's probes of one action joined: `livenessProbe, readinessProbe httpGet of container c`. */
function reasonsText(reasons: readonly ListenerReason[]): string {
  const probes = new Map<string, string[]>();
  const out: string[] = [];
  for (const r of reasons) {
    if (r.kind !== 'probe') {
      out.push(reasonText(r));
      continue;
    }
    const key = `${r.action} of container ${r.container}`;
    const kinds = probes.get(key);
    if (kinds === undefined) {
      probes.set(key, [r.probe]);
      out.push(key);
    } else if (!kinds.includes(r.probe)) kinds.push(r.probe);
  }
  return [...new Set(out.map((t) => (probes.has(t) ? `${probes.get(t)!.join(', ')} ${t}` : t)))].join(', ');
}

function reasonText(r: Exclude<ListenerReason, { kind: 'probe' }>): string {
  switch (r.kind) {
    case 'containerPort':
      return `containerPort of container ${r.container}`;
    case 'service':
      return `targetPort of Service ${r.service}`;
    case 'annotation':
      return 'the podnet.dev/listen annotation';
  }
}
