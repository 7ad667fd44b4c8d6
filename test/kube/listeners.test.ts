/**
 * What listens (src/kube/load/listeners.ts): a pod serves its declared ports, the ports its kubelet
 * probes connect to, and the numeric targetPorts of the Services selecting it; or exactly what its
 * podnet.dev/listen annotation lists. Fixtures in test/kube/fixtures/listen/.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Simulation } from '../../src/api/simulation.js';
import { formatDiagnostic, loadTopologyPath, loadTopologyText } from '../../src/kube/load/index.js';
import type { ClusterModel, PodModel } from '../../src/kube/model.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/listen/${name}`, import.meta.url));

function load(file: string): { model: ClusterModel; notices: string[] } {
  const r = loadTopologyPath(file);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
  return { model: r.model!, notices: r.diagnostics.map(formatDiagnostic) };
}

const listening = (notices: readonly string[]): string[] => notices.filter((n) => n.includes('no container declares'));
const pod = (m: ClusterModel, name: string): PodModel => m.pods.find((p) => p.name === name)!;
const served = (p: PodModel): string[] =>
  (p.listeners ?? []).map((l) => `${l.address !== undefined ? '127.0.0.1:' : ''}${l.port}/${l.protocol}`);

describe('"Connect a Frontend to a Backend": nginx declares no port, its Service targets 80', () => {
  const file = fixture('frontend-backend.yaml');
  const { model, notices } = load(file);
  const frontends = model.pods.filter((p) => p.name.startsWith('frontend-')).map((p) => p.name);

  test('the frontend Service answers from every frontend pod (it was refused: nothing served 80)', () => {
    const r = new Simulation(model, { seed: 1 }).probe('client', 'frontend:80', 'tcp', { count: 8, interval: 10e6 });
    expect(r.attempts.map((a) => a.error ?? 'ok')).toEqual(Array(8).fill('ok'));
    expect(r.serverSide.map((s) => s.server).sort()).toEqual([...frontends].sort());
  });

  test('the backend keeps its named port (hello → http → 80), declared, so no notice names it', () => {
    const r = new Simulation(model, { seed: 1 }).probe('client', 'hello:80', 'tcp', { count: 4, interval: 10e6 });
    expect(r.replies).toBe(4);
    expect(notices.filter((n) => n.includes('Deployment default/backend'))).toEqual([]);
  });

  test('one notice for the Deployment (its pods share the template), at the template, saying why', () => {
    expect(listening(notices)).toEqual([
      `${file}:50:9: notice: Deployment default/frontend: spec.template.spec.containers: its 3 pods (${frontends.join(', ')}) listen on a port no container declares: 80/TCP (targetPort of Service default/frontend); declare it as a containerPort, or state the pod's listeners in its podnet.dev/listen annotation`,
    ]);
    expect(pod(model, frontends[0]!).listeners).toEqual([
      { port: 80, protocol: 'TCP', reasons: [{ kind: 'service', service: 'default/frontend' }] },
    ]);
  });
});

describe('pods without ports: a StatefulSet behind a headless Service, probes by number and by name', () => {
  const file = fixture('statefulset-probes.yaml');
  const { model, notices } = load(file);

  test("the StatefulSet's pods serve the headless Service's targetPort, by pod name and by DNS", () => {
    const s = new Simulation(model, { seed: 1 });
    expect(s.probe('client', 'pod/db-1:5432', 'tcp').replies).toBe(1);
    const r = s.probe('client', 'db-0.db:5432', 'tcp');
    expect(r.replies).toBe(1);
    expect(r.serverSide.map((x) => x.server)).toEqual(['db-0']);
  });

  test('a liveness probe on tcpSocket 9001 (a number) makes 9001 answer', () => {
    expect(served(pod(model, 'notifications'))).toEqual(['9001/TCP']);
    expect(new Simulation(model, { seed: 1 }).probe('client', 'pod/notifications:9001', 'tcp').replies).toBe(1);
  });

  test("a probe port by name resolves in the container's ports whatever their protocol; grpc; a probe to 127.0.0.1 binds only there", () => {
    const p = pod(model, 'notifications-named');
    // metrics is 9001/UDP: the kubelet looks names up without the protocol and dials TCP 9001
    expect(served(p)).toEqual(['9001/UDP', '9001/TCP', '127.0.0.1:8080/TCP', '9090/TCP']);
    const s = new Simulation(model, { seed: 1 });
    expect(s.probe('client', 'pod/notifications-named:9001', 'tcp').replies).toBe(1);
    expect(s.probe('client', 'pod/notifications-named:9001', 'udp').replies).toBe(1);
    expect(s.probe('client', 'pod/notifications-named:9090', 'tcp').replies).toBe(1);
    expect(s.probe('client', 'pod/notifications-named:8080', 'tcp').attempts[0]?.error).toBe('Connection refused');
  });

  test('one notice per pod, one for the StatefulSet', () => {
    expect(listening(notices)).toEqual([
      `${file}:32:9: notice: StatefulSet default/db: spec.template.spec.containers: its 2 pods (db-0, db-1) listen on a port no container declares: 5432/TCP (targetPort of Service default/db); declare it as a containerPort, or state the pod's listeners in its podnet.dev/listen annotation`,
      `${file}:42:5: notice: Pod default/notifications: spec.containers: listens on a port no container declares: 9001/TCP (livenessProbe tcpSocket of container notifications-controller); declare it as a containerPort, or state the pod's listeners in its podnet.dev/listen annotation`,
      `${file}:55:5: notice: Pod default/notifications-named: spec.containers: listens on ports no container declares: 9001/TCP (livenessProbe tcpSocket of container notifications-controller), 8080/TCP on 127.0.0.1 (readinessProbe httpGet of container notifications-controller), 9090/TCP (startupProbe grpc of container notifications-controller); declare them as containerPorts, or state the pod's listeners in its podnet.dev/listen annotation`,
    ]);
  });
});

describe('probe ports as the API server validates and the kubelet resolves them', () => {
  const podWith = (container: string): string =>
    `apiVersion: podnet.dev/v1alpha1\nkind: Cluster\nspec: { addons: none }\n---\napiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: c\n${container}`;

  test('a name the container does not declare: a notice (the kubelet cannot run the probe), no listener', () => {
    const r = loadTopologyText(
      podWith(
        '      ports: [{ name: http, containerPort: 8080 }]\n      livenessProbe:\n        httpGet: { path: /, port: health }\n',
      ),
      't.yaml',
    );
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      't.yaml:13:35: notice: Pod default/p: spec.containers[0].livenessProbe.httpGet.port: container "c" has no port named "health" (its named ports: "http"): the kubelet cannot run this probe, and podnet infers no listener from it',
    ]);
    expect(served(r.model!.pods[0]!)).toEqual(['8080/TCP']);
  });

  test('ports the API server refuses are errors: 0, a quoted number, a bad name, a grpc name', () => {
    const r = loadTopologyText(
      podWith(
        [
          '      livenessProbe: { tcpSocket: { port: 0 } }',
          '      readinessProbe: { httpGet: { path: /, port: "8080" } }',
          '      startupProbe: { grpc: { port: grpc } }',
          '    - name: d',
          '      livenessProbe: { httpGet: { path: /, port: Web_UI } }',
          '',
        ].join('\n'),
      ),
      't.yaml',
    );
    expect(r.model).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      't.yaml:11:43: error: Pod default/p: spec.containers[0].livenessProbe.tcpSocket.port: expected a port number 1–65535 or a container port name, got 0',
      't.yaml:12:51: error: Pod default/p: spec.containers[0].readinessProbe.httpGet.port: expected a port number 1–65535 or a container port name, got "8080": a quoted number is a (bad) port name; write 8080 without quotes',
      't.yaml:13:37: error: Pod default/p: spec.containers[0].startupProbe.grpc.port: expected a port number 1–65535 (a grpc probe names no port), got "grpc"',
      't.yaml:15:50: error: Pod default/p: spec.containers[1].livenessProbe.httpGet.port: expected a port number 1–65535 or a container port name, an IANA service name (at most 15 lowercase letters, digits and "-", with at least one letter, no "--", not starting or ending with "-"), got "Web_UI"',
    ]);
  });
});

describe('ports declared twice, as the API server accepts them', () => {
  test('two containers may each name a port metrics; 80/TCP declared twice is a notice and listens once', () => {
    const text = [
      'apiVersion: podnet.dev/v1alpha1',
      'kind: Cluster',
      'spec: { addons: none }',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: { name: p }',
      'spec:',
      '  containers:',
      '    - { name: a, ports: [{ name: metrics, containerPort: 80 }] }',
      '    - { name: b, ports: [{ name: metrics, containerPort: 80 }, { name: http, containerPort: 80, protocol: UDP }] }',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: { name: client }',
      'spec: { containers: [{ name: c }] }',
      '',
    ].join('\n');
    const r = loadTopologyText(text, 't.yaml');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      't.yaml:11:58: notice: Pod default/p: spec.containers[1].ports[0].containerPort: port 80/TCP is declared twice (also spec.containers[0].ports[0]): a duplicate port definition, which the API server accepts with a warning; the pod listens on it once',
    ]);
    const p = pod(r.model!, 'p');
    expect(served(p)).toEqual(['80/TCP', '80/UDP']);
    expect(p.listeners?.[0]?.reasons).toEqual([
      { kind: 'containerPort', container: 'a' },
      { kind: 'containerPort', container: 'b' },
    ]);
    expect(new Simulation(r.model!, { seed: 1 }).probe('client', 'pod/p:80', 'tcp').replies).toBe(1);
  });
});

describe('an exported kubeadm control plane: static pods declare no ports, their probes tell', () => {
  const file = fixture('kubeadm-control-plane-export.yaml');
  const { model, notices } = load(file);

  test('kubernetes.default:443 and its ClusterIP answer from the apiserver on the node, :6443 (they were refused)', () => {
    const s = new Simulation(model, { seed: 1 });
    for (const to of ['kubernetes.default:443', '10.96.0.1:443', '192.168.60.10:6443']) {
      const r = s.probe('client', to, 'tcp');
      expect(r.attempts[0]?.error, to).toBeUndefined();
      expect(
        r.serverSide.map((x) => x.server),
        to,
      ).toEqual(['kube-system/kube-apiserver-cp']);
    }
  });

  test("the controller-manager's 127.0.0.1:10257 answers on its node only", () => {
    const s = new Simulation(model, { seed: 1 });
    expect(s.probe('client', '192.168.60.10:10257', 'tcp').attempts[0]?.error).toBe('Connection refused');
    const local = s.probe('node/cp', '127.0.0.1:10257', 'tcp');
    expect(local.serverSide.map((x) => x.server)).toEqual(['kube-system/kube-controller-manager-cp']);
  });

  test('the listeners carry every reason; one notice per static pod', () => {
    expect(pod(model, 'kube-apiserver-cp').listeners).toEqual([
      {
        port: 6443,
        protocol: 'TCP',
        reasons: (['livenessProbe', 'readinessProbe', 'startupProbe'] as const).map((probe) => ({
          kind: 'probe',
          container: 'kube-apiserver',
          probe,
          action: 'httpGet',
        })),
      },
    ]);
    expect(listening(notices)).toEqual([
      `${file}:50:5: notice: Pod kube-system/kube-apiserver-cp: spec.containers: listens on a port no container declares: 6443/TCP (livenessProbe, readinessProbe, startupProbe httpGet of container kube-apiserver); declare it as a containerPort, or state the pod's listeners in its podnet.dev/listen annotation`,
      `${file}:81:5: notice: Pod kube-system/kube-controller-manager-cp: spec.containers: listens on a port no container declares: 10257/TCP on 127.0.0.1 (livenessProbe, startupProbe httpGet of container kube-controller-manager); declare it as a containerPort, or state the pod's listeners in its podnet.dev/listen annotation`,
    ]);
  });

  test('the same in the full kubeadm export (test/kube/fixtures/kubeadm-export.yaml): a web pod reaches kubernetes:443', () => {
    const full = loadTopologyPath(fileURLToPath(new URL('./fixtures/kubeadm-export.yaml', import.meta.url))).model!;
    const from = full.pods.find((p) => p.name.startsWith('web-'))!.name;
    const r = new Simulation(full, { seed: 1 }).probe(from, 'kubernetes.default:443', 'tcp');
    expect(r.serverSide.map((x) => x.server)).toEqual(['kube-system/kube-apiserver-k8s-cp']);
  });
});

describe('the podnet.dev/listen annotation states the listeners outright', () => {
  test('it replaces what would be inferred: declared and probed ports no longer answer; no notice', () => {
    const { model, notices } = load(fixture('annotation.yaml'));
    const p = pod(model, 'dns-proxy');
    expect(served(p)).toEqual(['8080/TCP', '53/UDP']);
    const s = new Simulation(model, { seed: 1 });
    expect(s.probe('client', 'pod/dns-proxy:8080', 'tcp').replies).toBe(1);
    expect(s.probe('client', 'pod/dns-proxy:53', 'udp').replies).toBe(1);
    expect(s.probe('client', 'pod/dns-proxy:9999', 'tcp').attempts[0]?.error).toBe('Connection refused');
    expect(s.probe('client', 'pod/dns-proxy:7777', 'tcp').attempts[0]?.error).toBe('Connection refused');
    expect(listening(notices)).toEqual([]);
  });

  test("on a workload's template every pod carries it; the protocol defaults to TCP", () => {
    const { model } = load(fixture('annotation.yaml'));
    const quiet = model.pods.filter((p) => p.name.startsWith('quiet-'));
    expect(quiet.map(served)).toEqual([['7000/TCP'], ['7000/TCP']]);
    expect(new Simulation(model, { seed: 1 }).probe('client', `pod/${quiet[1]!.name}:7000`, 'tcp').replies).toBe(1);
  });

  test('a malformed value is an error at the annotation', () => {
    const file = fixture('annotation-malformed.yaml');
    const r = loadTopologyPath(file);
    expect(r.model).toBeUndefined();
    const expected = 'expected a list of listeners such as "8080/TCP,53/UDP" (<port>[/TCP|UDP|SCTP], comma-separated)';
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${file}:9:24: error: Pod default/bad-port: metadata.annotations["podnet.dev/listen"]: ${expected}, got "70000/UDP" in "8080/TCP,70000/UDP": a port is a number 1–65535`,
      `${file}:18:24: error: Pod default/bad-protocol: metadata.annotations["podnet.dev/listen"]: ${expected}, got "53/DNS" in "53/DNS": the protocol is TCP, UDP or SCTP`,
      `${file}:33:28: error: Deployment default/twice: spec.template.metadata.annotations["podnet.dev/listen"]: 80/TCP is listed twice in "80/TCP,80"`,
    ]);
  });
});
