/** Shared helpers for the Service loader tests (test/kube/load-services*.test.ts). */
import { formatDiagnostic, loadTopologyText, type LoadResult } from '../../src/kube/load/index.js';
import type { ClusterModel, EndpointSliceModel, ServiceModel } from '../../src/kube/model.js';

export function ip(s: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = s.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function fmt(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function load(text: string): LoadResult {
  return loadTopologyText(text, 'test.yaml');
}

export function model(text: string): ClusterModel {
  const r = load(text);
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.model;
}

export function errors(text: string): string[] {
  return load(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

export function notices(text: string): string[] {
  return load(text)
    .diagnostics.filter((d) => d.severity === 'notice')
    .map(formatDiagnostic);
}

/** The input's Services (without the built-in kubernetes and kube-dns addons). */
export function userServices(m: ClusterModel): ServiceModel[] {
  return m.services.filter((s) => s.origin !== 'addon');
}

/** The input's EndpointSlices (without the addons' ones). */
export function userSlices(m: ClusterModel): EndpointSliceModel[] {
  return m.endpointSlices.filter((s) => s.origin !== 'addon');
}

export function svc(m: ClusterModel, key: string): ServiceModel {
  const s = m.services.find((x) => `${x.namespace}/${x.name}` === key);
  if (s === undefined)
    throw new Error(`no service ${key}; have ${m.services.map((x) => `${x.namespace}/${x.name}`).join(', ')}`);
  return s;
}

export function slicesOf(m: ClusterModel, key: string): EndpointSliceModel[] {
  return m.endpointSlices.filter((s) => `${s.namespace}/${s.serviceName}` === key);
}

/** The ClusterIP of `key` as text. */
export function cip(m: ClusterModel, key: string): string {
  const s = svc(m, key);
  return s.clusterIPs.map(fmt).join(',');
}

export const CLUSTER = (spec: string): string => `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: demo }
spec:
${spec
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;

/** A Service document; `spec` is YAML indented under `spec:`. */
export const service = (name: string, spec: string, ns?: string): string => `---
apiVersion: v1
kind: Service
metadata:
  name: ${name}${ns !== undefined ? `\n  namespace: ${ns}` : ''}
spec:
${spec
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;

export interface PodOpts {
  readonly ns?: string;
  readonly labels?: Record<string, string>;
  readonly ports?: ReadonlyArray<{ name?: string; port: number; protocol?: string }>;
  readonly node?: string;
  readonly ready?: boolean;
  readonly hostNetwork?: boolean;
  readonly hostname?: string;
  readonly subdomain?: string;
}

/** A Pod document. */
export const pod = (name: string, o: PodOpts = {}): string => {
  const labels = Object.entries(o.labels ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const ports = (o.ports ?? [])
    .map(
      (p) =>
        `{ ${p.name !== undefined ? `name: ${p.name}, ` : ''}containerPort: ${p.port}, protocol: ${p.protocol ?? 'TCP'} }`,
    )
    .join(', ');
  const spec =
    (o.node !== undefined ? `\n  nodeName: ${o.node}` : '') +
    (o.hostNetwork === true ? '\n  hostNetwork: true' : '') +
    (o.hostname !== undefined ? `\n  hostname: ${o.hostname}` : '') +
    (o.subdomain !== undefined ? `\n  subdomain: ${o.subdomain}` : '');
  return `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}${o.ns !== undefined ? `\n  namespace: ${o.ns}` : ''}
  labels: { ${labels} }
spec:${spec}
  containers: [{ name: c, ports: [${ports}] }]
${o.ready === false ? 'status:\n  conditions: [{ type: Ready, status: "False" }]\n' : ''}`;
};
