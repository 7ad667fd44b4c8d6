/**
 * The load pipeline, in the order a cluster comes to be:
 *   1. every document is read: each kind's reader (readers/) turns its objects into validated
 *      drafts, reporting every problem;
 *   2. the cluster: the Cluster document (or the defaults) with the Node objects merged in; node
 *      IPAM gives the nodes without one their podCIDR;
 *   3. kubeadm's addons are read like the input (addons.ts), ahead of it in load order;
 *   4. namespaces referenced but not declared are created;
 *   5. the workload controllers make their pods: Deployment → ReplicaSet → pods, ReplicaSet,
 *      ReplicationController, StatefulSet, DaemonSet, Job, CronJob → Job → pods (workloads in
 *      document order);
 *   6. kube-scheduler places every pod, host-local IPAM gives it its address;
 *   7. the EndpointSlices and Endpoints of the input are checked against the nodes;
 *   8. the Service allocators (ClusterIP, NodePort, load-balancer IP), then the EndpointSlice
 *      mirroring controller and the EndpointSlice controller;
 *   9. what listens in each pod: declared ports, kubelet probes, selecting Services' targetPorts,
 *      or the podnet.dev/listen annotation (listeners.ts);
 *  10. the scenario's references are checked;
 * and the model is assembled when nothing failed.
 */
import type { ClusterModel, EndpointSliceModel, NodeModel, ObjectOrigin, PodModel, ServiceModel } from '../model.js';
import { addonManifests, ADDONS_FILE } from './addons.js';
import { cronJobRuns } from './controllers/cronjob.js';
import { runDaemonSet } from './controllers/daemonset.js';
import { deploymentReplicaSet } from './controllers/deployment.js';
import { endpointSlicesOfServices, handWrittenSlices, selectorIndex } from './controllers/endpointslice-controller.js';
import { mirrorEndpoints } from './controllers/endpointslice-mirroring.js';
import { NamespacedNames } from './controllers/generated-names.js';
import { assignPodIPs } from './controllers/host-local-ipam.js';
import { runJob } from './controllers/job.js';
import { assignLoadBalancerIPs } from './controllers/load-balancer-ip-allocator.js';
import { allocatePodCIDRs } from './controllers/node-ipam.js';
import { allocateNodePorts } from './controllers/node-port-allocator.js';
import { runReplicaSet } from './controllers/replicaset.js';
import { schedulePods } from './controllers/scheduler.js';
import { allocateClusterIPs } from './controllers/service-ip-allocator.js';
import { runStatefulSet } from './controllers/statefulset.js';
import { generatedPodDraft, type PodStore } from './controllers/workload-pods.js';
import { DiagnosticSink, type TopologyDiagnostic } from './diagnostics.js';
import { withListeners } from './listeners.js';
import { parseText, type KubeObject } from './documents.js';
import { resolveCluster, type ClusterDraft } from './readers/cluster.js';
import { nodeExtraIPs } from './readers/node.js';
import { withKubeProxySettings } from './readers/kube-proxy-flags.js';
import type { CronJobDraft } from './readers/cronjob.js';
import type { DaemonSetDraft } from './readers/daemonset.js';
import type { DeploymentDraft } from './readers/deployment.js';
import { checkEndpointsNodes, endpointsDeclared, givenEndpoints } from './readers/endpoints.js';
import { checkEndpointSliceNodes, givenSlices, sliceNamesIn, slicesDeclaredFor } from './readers/endpointslice.js';
import type { JobDraft } from './readers/job.js';
import { createReferencedNamespaces, namespaces } from './readers/namespace.js';
import {
  addPod,
  findPod,
  noNetworkReason,
  podDrafts,
  podNameTaken,
  podsInLoadOrder,
  type PodDraft,
} from './readers/pod.js';
import type { ReplicaSetDraft } from './readers/replicaset.js';
import type { ReplicationControllerDraft } from './readers/replicationcontroller.js';
import { checkScenarioReferences, scenarioEnd, scenarioModel } from './readers/scenario.js';
import { needsClusterIP, serviceDrafts, serviceExists, type ServiceDraft } from './readers/service.js';
import type { StatefulSetDraft } from './readers/statefulset.js';
import { workloadObjects } from './readers/workload.js';
import type { Field } from './field.js';
import { checkKubernetesFields } from './k8s-schema.js';
import { CLUSTER_SCOPED_KINDS, KNOWN_KINDS, READERS } from './registry.js';
import type { Source } from './sources.js';
import { LoadState, noticeIgnored, objectLabel, type DeferredObject, type LoadOptions } from './state.js';
import { quote, suggest } from './values.js';

export { readSources, type Source } from './sources.js';

/** What a load gives: the model (when nothing failed), every diagnostic, the deferred objects. */
export interface LoadResult {
  /** The model; undefined exactly when there is at least one error diagnostic. */
  readonly model: ClusterModel | undefined;
  /** Errors and notices, ordered by file (load order), line and column. */
  readonly diagnostics: TopologyDiagnostic[];
  /** Objects of kinds podnet recognises but does not model yet, as plain data (none today: see readers/deferred.ts). */
  readonly deferred: DeferredObject[];
}

/** What the controllers derive: the placed pods, the Services with their addresses, every EndpointSlice. */
interface Derived {
  readonly cluster: ClusterDraft;
  readonly pods: readonly PodModel[];
  readonly services: readonly ServiceModel[];
  readonly endpointSlices: readonly EndpointSliceModel[];
  /** Further addresses of the nodes (Node status.addresses), by node name. */
  readonly nodeExtra: ReadonlyMap<string, readonly number[]>;
}

/** Loads already-read sources; `modelFiles` is what `ClusterModel.files` reports. */
export function loadSources(
  sources: readonly Source[],
  modelFiles: readonly string[],
  sink = new DiagnosticSink(),
  opts: LoadOptions = {},
): LoadResult {
  const state = new LoadState(sink, opts);
  try {
    // 1. Every document, read by its kind's reader.
    let seq = 0;
    for (const src of sources) {
      sink.addFile(src.file);
      const parsed = parseText(src.text, src.file, sink, { fastJson: opts.fastJson !== false });
      for (const b of parsed.broken) state.addBroken(b);
      for (const obj of parsed.objects) dispatch(obj, state, 'user', seq++);
    }
    const derived = runControllers(state);
    const model = sink.errorCount === 0 ? assemble(state, derived, modelFiles) : undefined;
    if (model === undefined && sink.errorCount === 0) {
      internalError(sink, sources[0]?.file ?? '<input>', 'the model is incomplete although no error was reported');
    }
    return { model: sink.errorCount === 0 ? model : undefined, diagnostics: sink.sorted(), deferred: state.deferred };
  } catch (e) {
    internalError(sink, sources[0]?.file ?? '<input>', e instanceof Error ? e.message : String(e));
    return { model: undefined, diagnostics: sink.sorted(), deferred: state.deferred };
  }
}

/** Steps 2–10 of the pipeline (see the header). */
function runControllers(state: LoadState): Derived {
  // 2. The cluster and its nodes.
  const cluster = withKubeProxySettings(state, resolveCluster(state));
  assignDefaultPodCIDRs(cluster);
  const nodeExtra = nodeExtraIPs(state, {
    ...cluster,
    gateway: cluster.underlay?.gateway,
    underlay: cluster.underlay?.cidr,
    ranges: [
      { name: 'clusterCIDR', cidr: cluster.clusterCIDR },
      { name: 'serviceCIDR', cidr: cluster.serviceCIDR },
    ],
  });
  // 3. kubeadm's addons.
  readAddons(state, cluster);
  // 4. Namespaces.
  createReferencedNamespaces(state);
  // 5. Workload controllers.
  runWorkloadControllers(state, cluster);
  // 6. kube-scheduler and host-local IPAM.
  const pods = placePods(state, cluster);
  // 7. Given endpoints against the nodes.
  checkEndpointSliceNodes(state);
  checkEndpointsNodes(state);
  // 8. Service allocators, EndpointSlice mirroring and EndpointSlice controllers.
  const { services, endpointSlices } = runServiceControllers(state, cluster, pods);
  // 9. What listens.
  const listening = withListeners(pods, services, (p) => findPod(state, p.namespace, p.name));
  // 10. The scenario.
  checkScenarioReferences(state);
  return { cluster, pods: listening, services, endpointSlices, nodeExtra };
}

function internalError(sink: DiagnosticSink, file: string, message: string): void {
  sink.add({
    severity: 'error',
    file,
    line: 1,
    col: 1,
    object: undefined,
    path: undefined,
    message: `internal error in the topology loader: ${message} (please report this)`,
  });
}

/** Hands one object to its kind's reader (or reports it as ignored). */
function dispatch(obj: KubeObject, state: LoadState, origin: ObjectOrigin, seq: number): void {
  const reader = READERS.get(obj.kind);
  if (reader === undefined) {
    const near = [...READERS.keys()].find((k) => k.toLowerCase() === obj.kind.toLowerCase());
    if (near !== undefined) {
      obj.root.child('kind').error(`unknown kind ${quote(obj.kind)}; kinds are case-sensitive: did you mean ${near}?`);
      return;
    }
    // A kind one slip away from a Kubernetes or podnet kind, in a built-in API group (a custom resource's
    // group has a dot and is not *.k8s.io): a typo, which the API server would refuse ("no matches for kind").
    const typo = builtInGroup(obj.root.rawStr('apiVersion')) ? suggest(obj.kind, KNOWN_KINDS) : undefined;
    if (typo !== undefined) {
      obj.root.child('kind').error(`unknown kind ${quote(obj.kind)} (did you mean ${typo}?)`);
      return;
    }
    const namespaced = !CLUSTER_SCOPED_KINDS.has(obj.kind);
    const ignoredLabel = objectLabel(obj.kind, namespaced, obj.namespace, obj.name);
    if (origin === 'user') checkSchema(obj, obj.root.withObject(ignoredLabel), state);
    noticeIgnored(state.sink, obj, ignoredLabel);
    return;
  }
  const label = objectLabel(reader.kind, reader.namespaced, obj.namespace, obj.name);
  const root = obj.root.withObject(label);
  if (origin === 'user') checkSchema(obj, root, state);
  if (reader.apiVersions !== undefined) {
    const expected = reader.apiVersions.map((v) => quote(v)).join(' or ');
    const f = root.child('apiVersion');
    const version = obj.apiVersion;
    if (version === undefined || version === null) {
      f.missing(`${expected} for kind ${reader.kind}`);
    } else if (typeof version !== 'string' || !reader.apiVersions.includes(version)) {
      f.typeError(`${expected} for kind ${reader.kind}`);
    }
  }
  const input = {
    ...obj,
    root,
    label,
    effectiveNamespace: reader.namespaced ? (obj.namespace ?? 'default') : undefined,
    origin,
    seq,
  };
  state.objects.push(input);
  reader.read(input, state);
}

/** Node IPAM: the next free podCIDRs for the nodes without one of their own. */
function assignDefaultPodCIDRs(cluster: ClusterDraft): void {
  if (cluster.clusterCIDR === undefined || cluster.nodeCIDRMaskSize === undefined) return;
  const podCIDRs = allocatePodCIDRs(
    cluster.clusterCIDR,
    cluster.nodeCIDRMaskSize,
    cluster.claimedPodCIDRs,
    cluster.podCIDRRequests,
  );
  for (const [request, cidr] of podCIDRs) request.node.podCIDR = cidr;
}

/** Hands the addon manifests (addons.ts) to the readers, ahead of the input in load order. */
function readAddons(state: LoadState, cluster: ClusterDraft): void {
  // With errors already (a bad node name, say) there will be no model: adding the addons could
  // only repeat those errors in their terms.
  if (cluster.addons === undefined || !cluster.nodesKnown || state.sink.errorCount > 0) return;
  const text = addonManifests(state, cluster.addons, cluster.nodes);
  if (text === '') return;
  const parsed = parseText(text, ADDONS_FILE, state.sink);
  let seq = -parsed.objects.length;
  for (const obj of parsed.objects) dispatch(obj, state, 'addon', seq++);
}

/** A workload object of any kind, as its reader left it. */
type WorkloadDraft =
  | DeploymentDraft
  | ReplicaSetDraft
  | ReplicationControllerDraft
  | StatefulSetDraft
  | DaemonSetDraft
  | JobDraft
  | CronJobDraft;

/** Runs the workload controllers over the workloads in document order; their pods join the pod store. */
function runWorkloadControllers(state: LoadState, cluster: ClusterDraft): void {
  // Each reader files its objects with their kind: the union is what the store holds.
  const workloads = workloadObjects(state) as readonly WorkloadDraft[];
  const replicaSets = workloads.filter((w) => w.kind === 'ReplicaSet');
  const jobs = workloads.filter((w) => w.kind === 'Job');
  // Pods given in the input (the controllers' pods are added below).
  const existing = podDrafts(state).slice();
  const adopted = new Set<PodDraft>();
  const store: PodStore = {
    taken: (namespace, name) => podNameTaken(state, namespace, name),
    add: (pod) => {
      addPod(state, generatedPodDraft(pod));
    },
  };
  const seed = state.seed;
  for (const w of workloads) {
    switch (w.kind) {
      case 'Deployment': {
        const spec = w.spec;
        if (spec === undefined) break;
        const rs = deploymentReplicaSet({ ...w, spec }, replicaSets, existing);
        if (rs !== undefined) runReplicaSet(rs, existing, adopted, store, seed);
        break;
      }
      case 'ReplicaSet':
      case 'ReplicationController': {
        const spec = w.spec;
        if (spec === undefined) break;
        const rs = {
          kind: w.kind,
          namespace: w.namespace,
          name: w.name,
          selector: spec.selector,
          labels: spec.template.labels,
          replicas: spec.replicas,
          spec: spec.template.spec,
          from: w,
        };
        runReplicaSet(rs, existing, adopted, store, seed);
        break;
      }
      case 'StatefulSet': {
        const spec = w.spec;
        if (spec === undefined) break;
        const serviceMayExist = (namespace: string, name: string): boolean =>
          state.objects.some((o) => o.kind === 'Service' && o.effectiveNamespace === namespace && o.name === name) ||
          state.mayExistInBroken('Service', namespace, name);
        runStatefulSet({ ...w, spec }, store, serviceMayExist);
        break;
      }
      case 'DaemonSet': {
        const spec = w.spec;
        if (spec === undefined || !cluster.nodesKnown) break;
        runDaemonSet({ ...w, spec }, cluster.nodes, existing, store, seed);
        break;
      }
      case 'Job': {
        const spec = w.spec;
        if (spec === undefined) break;
        runJob(
          {
            namespace: w.namespace,
            name: w.name,
            params: spec.job,
            template: spec.template,
            start: 0,
            cutoff: undefined,
            from: w,
          },
          existing,
          store,
          seed,
          0,
        );
        break;
      }
      case 'CronJob': {
        const spec = w.spec;
        if (spec === undefined) break;
        const jobExists = (namespace: string, name: string): boolean =>
          jobs.some((j) => j.namespace === namespace && j.name === name);
        let ordinal = 0;
        for (const job of cronJobRuns({ ...w, spec }, scenarioEnd(state), jobExists)) {
          ordinal = runJob(job, existing, store, seed, ordinal);
        }
        break;
      }
    }
  }
}

/**
 * kube-scheduler places the pods, host-local IPAM addresses them; the models of those that got both, in load order.
 * Pods an export gives as finished (status.phase Succeeded or Failed) or as Pending without an address have no
 * network: kubelet has torn their sandbox down, or not set it up yet; they take no node slot and no address.
 */
function placePods(state: LoadState, cluster: ClusterDraft): PodModel[] {
  const pods = podsInLoadOrder(state).filter((p) => hasNetwork(p));
  if (!cluster.nodesKnown) return [];
  const placement = schedulePods(pods, cluster.nodes, state.seed);
  const ips = assignPodIPs(pods, placement);
  const models: PodModel[] = [];
  for (const pod of pods) {
    const node = placement.get(pod);
    const ip = ips.get(pod);
    if (node === undefined || ip === undefined || pod.spec.containers === undefined) continue;
    models.push({
      namespace: pod.namespace,
      name: pod.name,
      nodeName: node.name,
      ip,
      labels: pod.labels,
      containers: pod.spec.containers,
      hostNetwork: pod.spec.hostNetwork,
      ready: pod.ready,
      hostname: pod.hostname,
      subdomain: pod.subdomain,
      ownerRef: pod.ownerRef,
      ...(pod.activeFrom !== undefined ? { activeFrom: pod.activeFrom } : {}),
      ...(pod.activeUntil !== undefined ? { activeUntil: pod.activeUntil } : {}),
      ...(pod.origin === 'addon' ? { origin: pod.origin } : {}),
      ...(pod.spec.dns?.dnsPolicy !== undefined ? { dnsPolicy: pod.spec.dns.dnsPolicy } : {}),
      ...(pod.spec.dns?.dnsConfig !== undefined ? { dnsConfig: pod.spec.dns.dnsConfig } : {}),
      ...(pod.spec.dns !== undefined && pod.spec.dns.hostAliases.length > 0
        ? { hostAliases: pod.spec.dns.hostAliases }
        : {}),
      source: pod.source,
    });
  }
  return models;
}

/** Whether a pod has a netns by its status.phase (a pod without status: yes); a Pending one says so once. */
function hasNetwork(pod: PodDraft): boolean {
  const why = noNetworkReason(pod);
  if (why === undefined) return true;
  if (pod.phase === 'Pending') {
    pod.nameField.objectNotice(`${pod.who} stays Pending as the input has it (${why}): no network, no endpoint`);
  }
  return false;
}

/**
 * The Services' addresses (ClusterIP, NodePort and load-balancer IP allocators) and every
 * EndpointSlice (the input's, the mirroring controller's, the EndpointSlice controller's).
 */
function runServiceControllers(
  state: LoadState,
  cluster: ClusterDraft,
  pods: readonly PodModel[],
): { services: ServiceModel[]; endpointSlices: EndpointSliceModel[] } {
  const drafts = serviceDrafts(state);
  const clusterIPs =
    cluster.serviceCIDR !== undefined
      ? allocateClusterIPs(cluster.serviceCIDR, drafts.filter(needsClusterIP))
      : undefined;
  const nodePorts = cluster.nodePortRange !== undefined ? allocateNodePorts(cluster.nodePortRange, drafts) : undefined;
  const valid = (d: ServiceDraft): boolean =>
    d.valid && clusterIPs?.refused.has(d) !== true && nodePorts?.refused.has(d) !== true;
  const lbPool = {
    pool: cluster.loadBalancerPool,
    poolOk: cluster.loadBalancerPoolOk,
    underlay: cluster.underlay?.cidr,
  };
  const loadBalancerIPs = assignLoadBalancerIPs(
    drafts.filter((d) => d.type === 'LoadBalancer'),
    lbPool,
    valid,
  );

  const names = new NamespacedNames((namespace) => sliceNamesIn(state, namespace));
  const exists = (key: string): boolean => serviceExists(state, key);
  const serviceMayBeUnread = (namespace: string, name: string): boolean =>
    state.mayExistInBroken('Service', namespace, name);
  const handWritten = handWrittenSlices(givenSlices(state), { serviceExists: exists, serviceMayBeUnread });
  const mirrored = mirrorEndpoints(
    givenEndpoints(state),
    {
      serviceExists: exists,
      serviceMayBeUnread,
      slicesDeclaredFor: (namespace, name) => slicesDeclaredFor(state, namespace, name),
      hasManagedSlice: (key) => (handWritten.byService.get(key) ?? []).some((g) => g.managedBy !== undefined),
    },
    names,
  );
  let draftsSelected: ReturnType<typeof selectorIndex<PodDraft>> | undefined;
  const endpointSlices = endpointSlicesOfServices(drafts, handWritten, mirrored, names, {
    valid,
    podsSelected: selectorIndex(pods),
    explicitHostname: (pod) => findPod(state, pod.namespace, pod.name)?.explicitHostname === true,
    anyPodMatches: (namespace, selector) => {
      draftsSelected ??= selectorIndex(podDrafts(state));
      return state.mayHaveBrokenKind('Pod') || draftsSelected(namespace, selector).length > 0;
    },
    endpointsWritten: (namespace, name) =>
      state.mayHaveBrokenKind('Endpoints') ||
      state.mayHaveBrokenKind('EndpointSlice') ||
      endpointsDeclared(state, namespace, name) ||
      slicesDeclaredFor(state, namespace, name),
  });

  const services: ServiceModel[] = [];
  for (const d of drafts) {
    if (!valid(d)) continue;
    const clusterIP = clusterIPs?.clusterIPs.get(d);
    if (needsClusterIP(d) && clusterIP === undefined) continue;
    services.push({
      namespace: d.namespace,
      name: d.name,
      type: d.type,
      clusterIPs: clusterIP !== undefined ? [clusterIP] : [],
      headless: d.headless,
      ports: d.ports.map((p) => ({
        name: p.name,
        protocol: p.protocol,
        port: p.port,
        targetPort: p.targetPort,
        nodePort: nodePorts?.nodePorts.get(p),
      })),
      selector: d.selector,
      externalIPs: d.externalIPs,
      loadBalancerIPs: loadBalancerIPs.get(d) ?? [],
      loadBalancerSourceRanges: d.loadBalancerSourceRanges,
      externalTrafficPolicy: d.externalTrafficPolicy,
      internalTrafficPolicy: d.internalTrafficPolicy,
      sessionAffinity: d.sessionAffinity,
      affinityTimeoutSeconds: d.affinityTimeoutSeconds,
      healthCheckNodePort:
        d.type === 'LoadBalancer' && d.externalTrafficPolicy === 'Local'
          ? nodePorts?.healthCheckNodePorts.get(d)
          : undefined,
      externalName: d.externalName,
      publishNotReadyAddresses: d.publishNotReadyAddresses,
      source: d.source,
      labels: d.labels,
      ...(d.origin === 'addon' ? { origin: d.origin } : {}),
    });
  }
  return { services, endpointSlices };
}

function assemble(state: LoadState, derived: Derived, files: readonly string[]): ClusterModel | undefined {
  const c = derived.cluster;
  const { clusterCIDR, serviceCIDR, nodeCIDRMaskSize, cni, underlay, links, nodePortRange, addons } = c;
  if (
    clusterCIDR === undefined ||
    serviceCIDR === undefined ||
    nodeCIDRMaskSize === undefined ||
    cni === undefined ||
    underlay === undefined ||
    links === undefined ||
    nodePortRange === undefined ||
    addons === undefined ||
    !c.loadBalancerPoolOk
  ) {
    return undefined;
  }
  const nodes: NodeModel[] = [];
  for (const n of c.nodes) {
    if (n.ip === undefined || n.podCIDR === undefined) return undefined;
    nodes.push({
      name: n.name,
      index: n.index,
      ip: n.ip,
      ...(derived.nodeExtra.has(n.name) ? { extraIPs: derived.nodeExtra.get(n.name) } : {}),
      podCIDR: n.podCIDR,
      labels: n.labels,
      taints: n.taints,
      schedulable: n.schedulable,
      controlPlane: n.controlPlane,
      source: n.source,
    });
  }
  return {
    name: c.name,
    clusterCIDR,
    serviceCIDR,
    nodeCIDRMaskSize,
    cni,
    underlay,
    links,
    nodes,
    pods: derived.pods,
    externalHosts: c.externalHosts,
    services: derived.services,
    endpointSlices: derived.endpointSlices,
    namespaces: namespaces(state),
    nodePortRange,
    loadBalancerPool: c.loadBalancerPool,
    dns: c.dns,
    // undefined only when spec.kubeProxy is invalid (reported, so the load fails anyway)
    kubeProxy: c.kubeProxy,
    scenario: scenarioModel(state),
    addons,
    seed: state.seed,
    files,
  };
}

/** True for an apiVersion of a Kubernetes API group (core, `apps`, `*.k8s.io`) or podnet's own; absent counts too. */
function builtInGroup(apiVersion: string | undefined): boolean {
  if (apiVersion === undefined) return true;
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return true;
  const group = apiVersion.slice(0, slash);
  return !group.includes('.') || group.endsWith('.k8s.io') || group === 'podnet.dev';
}

/** Unknown fields of a Kubernetes object, against its OpenAPI schema (podnet's own kinds: their readers check). */
function checkSchema(obj: KubeObject, root: Field, state: LoadState): void {
  const v = obj.apiVersion;
  if (typeof v !== 'string' || v.startsWith('podnet.dev/')) return;
  checkKubernetesFields(root, v, obj.kind, state.validate);
}
