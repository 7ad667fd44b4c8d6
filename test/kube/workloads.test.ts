/**
 * Workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and CronJob expand into pods as the
 * controllers would.
 */
import { describe, expect, test } from 'vitest';
import {
  canonicalJson,
  fnv32a,
  podTemplateHash,
  safeEncodeString,
} from '../../src/kube/load/controllers/generated-names.js';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';
import type { ClusterModel, PodModel } from '../../src/kube/model.js';
import { fmt } from './services-helpers.js';

const SUFFIX = '[bcdfghjklmnpqrstvwxz2456789]{5}';
const HASH = '[456789bcdf]{10}';

function load(text: string, seed = 1): ReturnType<typeof loadTopologyText> {
  return loadTopologyText(text, 'test.yaml', seed);
}

function model(text: string, seed = 1): ClusterModel {
  const r = load(text, seed);
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.model;
}

function errors(text: string): string[] {
  return load(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

function userPods(m: ClusterModel): PodModel[] {
  return m.pods.filter((p) => p.origin !== 'addon');
}

/** A Cluster with the given spec lines (three nodes by default: node1 is the tainted control plane). */
const CLUSTER = (spec = 'nodes: 3'): string => `apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec:
${spec
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;

const DEPLOY = (name = 'web', replicas = 3, extraSpec = '', image = 'nginx:1.27'): string => `---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
${extraSpec}      containers: [{ name: c, image: ${image}, ports: [{ name: http, containerPort: 80 }] }]
`;

describe('the pod-template-hash', () => {
  test('FNV-32a and SafeEncodeString as Go computes them', () => {
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(fnv32a('foobar')).toBe(0xbf9cf968);
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
    expect(safeEncodeString('abc')).toBe('vwx'); // 97 % 27 = 16: 'v'
  });

  test('10 characters of "456789bcdf", stable for a template, different when the template changes, key order ignored', () => {
    const a = podTemplateHash({
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
    });
    expect(a).toMatch(new RegExp(`^${HASH}$`));
    expect(
      podTemplateHash({
        spec: { containers: [{ image: 'nginx:1.27', name: 'c' }] },
        metadata: { labels: { app: 'web' } },
      }),
    ).toBe(a);
    expect(
      podTemplateHash({
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx:1.28' }] },
      }),
    ).not.toBe(a);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });
});

describe('Deployment and ReplicaSet', () => {
  test('a Deployment makes ReplicaSet <deploy>-<hash> and pods <rs>-<5 chars> labelled pod-template-hash', () => {
    const m = model(CLUSTER() + DEPLOY());
    const pods = userPods(m);
    expect(pods).toHaveLength(3);
    const rs = pods[0]!.ownerRef!.slice('ReplicaSet/'.length);
    expect(rs).toMatch(new RegExp(`^web-${HASH}$`));
    const hash = rs.slice('web-'.length);
    for (const p of pods) {
      expect(p.name).toMatch(new RegExp(`^${rs}-${SUFFIX}$`));
      expect(p.ownerRef).toBe(`ReplicaSet/${rs}`);
      expect(p.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.nodeName).not.toBe('node1'); // the control plane is tainted
    }
    expect(new Set(pods.map((p) => p.name)).size).toBe(3);
    // spread: fewest pods first
    expect(new Set(pods.map((p) => p.nodeName))).toEqual(new Set(['node2', 'node3']));
  });

  test('the seed draws the suffixes, not the hash; the same seed gives the same names', () => {
    const names = (seed: number): string[] => userPods(model(CLUSTER() + DEPLOY(), seed)).map((p) => p.name);
    expect(names(1)).toEqual(names(1));
    expect(names(2)).not.toEqual(names(1));
    expect(names(2).map((n) => n.slice(0, -6))).toEqual(names(1).map((n) => n.slice(0, -6)));
  });

  test('a changed template gets another hash; replicas default to 1 and may be 0', () => {
    const rsOf = (text: string): string | undefined => userPods(model(text))[0]?.ownerRef;
    expect(rsOf(CLUSTER() + DEPLOY('web', 1))).not.toBe(rsOf(CLUSTER() + DEPLOY('web', 1, '', 'nginx:1.28')));
    expect(userPods(model(CLUSTER() + DEPLOY('web', 1).replace('  replicas: 1\n', '')))).toHaveLength(1);
    expect(userPods(model(CLUSTER() + DEPLOY('web', 0)))).toHaveLength(0);
  });

  test('a bare ReplicaSet makes its pods and adopts matching pods without an owner (the ReplicaSet tutorial)', () => {
    const rs = `---
apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: frontend, labels: { app: guestbook, tier: frontend } }
spec:
  replicas: 3
  selector:
    matchLabels: { tier: frontend }
    matchExpressions: [{ key: env, operator: NotIn, values: [dev] }]
  template:
    metadata: { labels: { tier: frontend } }
    spec: { containers: [{ name: php-redis, image: us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5 }] }
`;
    const bare = (name: string, labels: string): string =>
      `---\napiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, labels: ${labels} }\nspec: { containers: [{ name: c }] }\n`;
    const m = model(CLUSTER() + rs + bare('pod1', '{ tier: frontend }') + bare('pod2', '{ tier: frontend, env: dev }'));
    const names = userPods(m).map((p) => p.name);
    // pod1 is adopted; pod2 is excluded by the NotIn expression
    expect(names.filter((n) => n.startsWith('frontend-'))).toHaveLength(2);
    for (const n of names.filter((x) => x.startsWith('frontend-')))
      expect(n).toMatch(new RegExp(`^frontend-${SUFFIX}$`));
    expect(names).toContain('pod1');
    expect(names).toContain('pod2');
  });

  test('an export holding a Deployment, its ReplicaSet and its pods creates nothing more', () => {
    const text = `${CLUSTER()}${DEPLOY('web', 2)}---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-6d4cf56db6
  labels: { app: web, pod-template-hash: 6d4cf56db6 }
  ownerReferences: [{ apiVersion: apps/v1, kind: Deployment, name: web, controller: true, uid: x }]
spec:
  replicas: 2
  selector: { matchLabels: { app: web, pod-template-hash: 6d4cf56db6 } }
  template:
    metadata: { labels: { app: web, pod-template-hash: 6d4cf56db6 } }
    spec: { containers: [{ name: c }] }
${['web-6d4cf56db6-abcde', 'web-6d4cf56db6-fghjk']
  .map(
    (n, i) => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${n}
  labels: { app: web, pod-template-hash: 6d4cf56db6 }
  ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: web-6d4cf56db6, controller: true, uid: y }]
spec: { nodeName: node${i + 2}, containers: [{ name: c }] }
status: { podIP: 10.244.${i + 1}.7 }
`,
  )
  .join('')}`;
    const m = model(text);
    expect(userPods(m).map((p) => `${p.name} ${fmt(p.ip)}`)).toEqual([
      'web-6d4cf56db6-abcde 10.244.1.7',
      'web-6d4cf56db6-fghjk 10.244.2.7',
    ]);
    // without the ReplicaSet document the pods alone are enough
    const podsOnly = text.replace(
      /---\napiVersion: apps\/v1\nkind: ReplicaSet[\s\S]*?(?=---\napiVersion: v1\nkind: Pod)/,
      '',
    );
    expect(userPods(model(podsOnly)).map((p) => p.name)).toEqual(['web-6d4cf56db6-abcde', 'web-6d4cf56db6-fghjk']);
  });
});

describe('StatefulSet', () => {
  const STS = `---
apiVersion: v1
kind: Service
metadata: { name: nginx }
spec: { clusterIP: None, selector: { app: nginx }, ports: [{ name: web, port: 80 }] }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: web }
spec:
  serviceName: nginx
  replicas: 3
  selector: { matchLabels: { app: nginx } }
  template:
    metadata: { labels: { app: nginx } }
    spec: { containers: [{ name: nginx, ports: [{ name: web, containerPort: 80 }] }] }
  volumeClaimTemplates: [{ metadata: { name: www }, spec: { accessModes: [ReadWriteOnce] } }]
`;

  test('pods <sts>-0..N-1 with hostname = pod name and subdomain = serviceName; the headless Service lists their hostnames', () => {
    const m = model(CLUSTER() + STS);
    const pods = userPods(m);
    expect(
      pods.map(
        (p) =>
          `${p.name} ${p.hostname} ${p.subdomain ?? '-'} ${p.ownerRef ?? '-'} ${p.labels['statefulset.kubernetes.io/pod-name'] ?? '-'} ${p.labels['apps.kubernetes.io/pod-index'] ?? '-'}`,
      ),
    ).toEqual([
      'web-0 web-0 nginx StatefulSet/web web-0 0',
      'web-1 web-1 nginx StatefulSet/web web-1 1',
      'web-2 web-2 nginx StatefulSet/web web-2 2',
    ]);
    const eps = m.endpointSlices
      .filter((s) => s.serviceName === 'nginx')
      .flatMap((s) => s.endpoints.map((e) => e.hostname));
    expect(eps).toEqual(['web-0', 'web-1', 'web-2']);
    // names do not depend on the seed
    expect(userPods(model(CLUSTER() + STS, 9)).map((p) => p.name)).toEqual(['web-0', 'web-1', 'web-2']);
  });

  test('ordinals whose pod is in the input are kept, the rest created; a missing Service is a notice', () => {
    const given = `---\napiVersion: v1\nkind: Pod\nmetadata: { name: web-1, labels: { app: nginx } }\nspec: { nodeName: node2, containers: [{ name: nginx }] }\nstatus: { podIP: 10.244.1.50 }\n`;
    const m = model(CLUSTER() + STS + given);
    expect(userPods(m).map((p) => `${p.name} ${p.ownerRef ?? 'given'}`)).toEqual([
      'web-0 StatefulSet/web',
      'web-2 StatefulSet/web',
      'web-1 given',
    ]);
    const r = load(CLUSTER() + STS.replace(/---\napiVersion: v1\nkind: Service[\s\S]*?(?=---)/, ''));
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      "test.yaml:10:16: notice: StatefulSet default/web: spec.serviceName: no Service default/nginx: the pods' DNS names (web-0.nginx.default.svc.cluster.local) need a headless Service of that name",
    ]);
  });
});

describe('DaemonSet', () => {
  const DS = (spec = '', extraTemplate = ''): string => `---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: kube-system }
spec:
  selector: { matchLabels: { name: agent } }
${spec}  template:
    metadata: { labels: { name: agent } }
    spec:
${extraTemplate}      containers: [{ name: agent, ports: [{ containerPort: 9100 }] }]
`;

  test('one pod per node that accepts it: the control plane only when its taint is tolerated', () => {
    const plain = userPods(model(CLUSTER() + DS()));
    expect(plain.map((p) => p.nodeName)).toEqual(['node2', 'node3']);
    for (const p of plain) {
      expect(p.name).toMatch(new RegExp(`^agent-${SUFFIX}$`));
      expect(p.ownerRef).toBe('DaemonSet/agent');
    }
    const tolerant = userPods(
      model(
        CLUSTER() +
          DS(
            '',
            '      tolerations: [{ key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule }]\n',
          ),
      ),
    );
    expect(tolerant.map((p) => `${p.nodeName} ${fmt(p.ip)}`)).toEqual([
      'node1 10.244.0.4',
      'node2 10.244.1.2',
      'node3 10.244.2.2',
    ]);
  });

  test('nodeSelector and node affinity choose nodes; cordoned nodes and not-ready taints are accepted as the controller does', () => {
    const cluster = CLUSTER(`nodes:
  - { name: cp }
  - { name: gpu-1, labels: { gpu: "true" } }
  - { name: gpu-2, labels: { gpu: "true" }, schedulable: false }
  - { name: cpu-1, taints: [{ key: node.kubernetes.io/not-ready, effect: NoExecute }] }
  - { name: cpu-2, labels: { zone: b } }`);
    expect(userPods(model(cluster + DS('', '      nodeSelector: { gpu: "true" }\n'))).map((p) => p.nodeName)).toEqual([
      'gpu-1',
      'gpu-2',
    ]);
    expect(userPods(model(cluster + DS())).map((p) => p.nodeName)).toEqual(['gpu-1', 'gpu-2', 'cpu-1', 'cpu-2']);
    const affinity =
      '      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms: [{ matchExpressions: [{ key: zone, operator: In, values: [b] }] }, { matchFields: [{ key: metadata.name, operator: In, values: [gpu-1] }] }]\n';
    expect(userPods(model(cluster + DS('', affinity))).map((p) => p.nodeName)).toEqual(['gpu-1', 'cpu-2']);
  });

  test("a hostNetwork DaemonSet pod has its node's address and takes no pod IP", () => {
    const m = model(CLUSTER() + DS('', '      hostNetwork: true\n'));
    expect(userPods(m).map((p) => `${p.nodeName} ${fmt(p.ip)} ${p.hostNetwork}`)).toEqual([
      'node2 172.18.0.3 true',
      'node3 172.18.0.4 true',
    ]);
  });

  test('nodes already running one of its pods (an export) get no second one', () => {
    const given = `---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: agent-zzzzz\n  namespace: kube-system\n  labels: { name: agent }\n  ownerReferences: [{ kind: DaemonSet, name: agent, controller: true }]\nspec: { nodeName: node3, containers: [{ name: agent }] }\n`;
    expect(
      userPods(model(CLUSTER() + DS() + given)).map(
        (p) => `${p.nodeName} ${p.name === 'agent-zzzzz' ? 'given' : 'new'}`,
      ),
    ).toEqual(['node2 new', 'node3 given']);
  });
});

describe('Job and CronJob', () => {
  const JOB = (spec: string, template = ''): string => `---
apiVersion: batch/v1
kind: Job
metadata: { name: batch }
spec:
${spec}  template:
${template}    spec:
      restartPolicy: Never
      containers: [{ name: work }]
`;
  const times = (m: ClusterModel): string[] => userPods(m).map((p) => `${p.activeFrom ?? 0}-${p.activeUntil ?? 'end'}`);
  const S = 1_000_000_000;

  test("a Job's pods run from time 0; without a run time until the end, one per parallel slot", () => {
    const m = model(CLUSTER() + JOB('  parallelism: 2\n  completions: 5\n'));
    expect(userPods(m).map((p) => p.name)).toEqual([
      expect.stringMatching(new RegExp(`^batch-${SUFFIX}$`)),
      expect.stringMatching(new RegExp(`^batch-${SUFFIX}$`)),
    ]);
    expect(times(m)).toEqual(['0-end', '0-end']);
    expect(userPods(m)[0]).toMatchObject({
      ownerRef: 'Job/batch',
      labels: { 'job-name': 'batch', 'batch.kubernetes.io/job-name': 'batch' },
    });
  });

  test('podnet.dev/run-time makes pods come and go in waves of parallelism; activeDeadlineSeconds cuts them', () => {
    const rt = '    metadata: { annotations: { podnet.dev/run-time: 10s } }\n';
    expect(times(model(CLUSTER() + JOB('  parallelism: 2\n  completions: 5\n', rt)))).toEqual([
      `0-${10 * S}`,
      `0-${10 * S}`,
      `${10 * S}-${20 * S}`,
      `${10 * S}-${20 * S}`,
      `${20 * S}-${30 * S}`,
    ]);
    expect(
      times(model(CLUSTER() + JOB('  parallelism: 2\n  completions: 5\n  activeDeadlineSeconds: 15\n', rt))),
    ).toEqual([`0-${10 * S}`, `0-${10 * S}`, `${10 * S}-${15 * S}`, `${10 * S}-${15 * S}`]);
    expect(times(model(CLUSTER() + JOB('  activeDeadlineSeconds: 30\n')))).toEqual([`0-${30 * S}`]);
    expect(userPods(model(CLUSTER() + JOB('  suspend: true\n')))).toEqual([]);
  });

  test('Indexed Jobs name their pods <job>-<index>-<5 chars> with hostname <job>-<index>', () => {
    const pods = userPods(model(CLUSTER() + JOB('  completionMode: Indexed\n  completions: 2\n  parallelism: 2\n')));
    expect(pods.map((p) => [p.hostname, p.labels['batch.kubernetes.io/job-completion-index']])).toEqual([
      ['batch-0', '0'],
      ['batch-1', '1'],
    ]);
    expect(pods[1]?.name).toMatch(new RegExp(`^batch-1-${SUFFIX}$`));
  });

  const CRON = (schedule: string, policy = 'Allow', runTime = '90s'): string => `---
apiVersion: batch/v1
kind: CronJob
metadata: { name: tick }
spec:
  schedule: "${schedule}"
  concurrencyPolicy: ${policy}
  jobTemplate:
    spec:
      template:
        metadata: { annotations: { podnet.dev/run-time: ${runTime} } }
        spec:
          restartPolicy: OnFailure
          containers: [{ name: tick }]
`;
  const SCENARIO = (duration: string): string =>
    `---\napiVersion: podnet.dev/v1alpha1\nkind: Scenario\nspec:\n  duration: ${duration}\n  probes: []\n`;

  test('a CronJob runs Jobs <cronjob>-<Unix minutes> at its schedule from 2024-01-01T00:00Z (time 0) until the scenario ends', () => {
    const m = model(CLUSTER() + CRON('*/2 * * * *') + SCENARIO('300s'));
    const pods = userPods(m);
    expect(pods.map((p) => p.ownerRef)).toEqual(['Job/tick-28401120', 'Job/tick-28401122', 'Job/tick-28401124']);
    expect(times(m)).toEqual([`0-${90 * S}`, `${120 * S}-${210 * S}`, `${240 * S}-${330 * S}`]);
    // without a scenario only a run at time 0 is modelled
    expect(userPods(model(CLUSTER() + CRON('*/2 * * * *'))).map((p) => p.ownerRef)).toEqual(['Job/tick-28401120']);
    expect(userPods(model(CLUSTER() + CRON('30 2 * * *') + SCENARIO('300s')))).toEqual([]);
  });

  test('concurrencyPolicy: Allow overlaps runs, Forbid skips a run while one runs, Replace ends the previous run', () => {
    const run = (policy: string): string[] =>
      times(model(CLUSTER() + CRON('* * * * *', policy, '90s') + SCENARIO('200s')));
    expect(run('Allow')).toEqual([
      `0-${90 * S}`,
      `${60 * S}-${150 * S}`,
      `${120 * S}-${210 * S}`,
      `${180 * S}-${270 * S}`,
    ]);
    expect(run('Forbid')).toEqual([`0-${90 * S}`, `${120 * S}-${210 * S}`]);
    expect(run('Replace')).toEqual([
      `0-${60 * S}`,
      `${60 * S}-${120 * S}`,
      `${120 * S}-${180 * S}`,
      `${180 * S}-${270 * S}`,
    ]);
  });

  test('a suspended CronJob runs nothing; another time zone is read as UTC with a notice', () => {
    expect(
      userPods(
        model(CLUSTER() + CRON('* * * * *').replace('  schedule:', '  suspend: true\n  schedule:') + SCENARIO('100s')),
      ),
    ).toEqual([]);
    const r = load(CLUSTER() + CRON('* * * * *').replace('  schedule:', '  timeZone: Europe/Berlin\n  schedule:'));
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'test.yaml:10:13: notice: CronJob default/tick: spec.timeZone: time zone "Europe/Berlin" is read as UTC (podnet\'s scenario time 0 is 2024-01-01T00:00:00Z)',
    ]);
  });
});

describe('validation of workloads', () => {
  test('template errors name the workload and the path inside its template', () => {
    const text = CLUSTER() + DEPLOY().replace('containerPort: 80', 'containerPort: "http"');
    expect(errors(text)).toEqual([
      'test.yaml:15:87: error: Deployment default/web: spec.template.spec.containers[0].ports[0].containerPort: expected an integer 1–65535, got "http"',
    ]);
  });

  test('the selector is required, may not be empty, and must select the template labels', () => {
    expect(errors(CLUSTER() + DEPLOY().replace('  selector: { matchLabels: { app: web } }\n', ''))).toEqual([
      'test.yaml:9:1: error: Deployment default/web: spec.selector: missing required field, expected a label selector (spec.selector.matchLabels) selecting the template labels',
    ]);
    expect(errors(CLUSTER() + DEPLOY().replace('matchLabels: { app: web }', 'matchLabels: { app: api }'))[0]).toContain(
      "spec.selector: selector app=api does not select the template's labels (app=web): spec.template.metadata.labels must match it",
    );
    expect(errors(CLUSTER() + DEPLOY().replace('{ matchLabels: { app: web } }', '{}'))[0]).toContain(
      'spec.selector: an empty selector selects every pod',
    );
    expect(
      errors(
        CLUSTER() +
          DEPLOY().replace('{ matchLabels: { app: web } }', '{ matchExpressions: [{ key: app, operator: In }] }'),
      )[0],
    ).toContain('spec.selector.matchExpressions[0]: operator In needs at least one value');
    expect(
      errors(
        CLUSTER() +
          DEPLOY().replace(
            '{ matchLabels: { app: web } }',
            '{ matchExpressions: [{ key: app, operator: Near, values: [web] }] }',
          ),
      )[0],
    ).toContain(
      'spec.selector.matchExpressions[0].operator: expected one of "In", "NotIn", "Exists", "DoesNotExist", got "Near"',
    );
  });

  test('replicas, Job fields and CronJob schedules are checked', () => {
    expect(errors(CLUSTER() + DEPLOY('web', -1))[0]).toContain('spec.replicas: expected an integer 0–150000, got -1');
    expect(errors(CLUSTER() + DEPLOY().replace('replicas: 3', 'replicas: "3"'))[0]).toContain(
      'spec.replicas: expected an integer 0–150000, got "3"',
    );
    const job = `---\napiVersion: batch/v1\nkind: Job\nmetadata: { name: j }\nspec:\n  template:\n    spec: { containers: [{ name: c }] }\n`;
    expect(errors(CLUSTER() + job)[0]).toContain(
      'Job default/j: spec.template.spec.restartPolicy: missing required field, expected "Never" or "OnFailure"',
    );
    const cron = (s: string): string =>
      `---\napiVersion: batch/v1\nkind: CronJob\nmetadata: { name: c }\nspec:\n  schedule: "${s}"\n  jobTemplate: { spec: { template: { spec: { restartPolicy: Never, containers: [{ name: c }] } } } }\n`;
    expect(errors(CLUSTER() + cron('61 * * * *'))[0]).toContain(
      'CronJob default/c: spec.schedule: expected a cron schedule such as "*/5 * * * *": minute "61" is outside 0–59',
    );
    expect(errors(CLUSTER() + cron('* * * *'))[0]).toContain(
      'expected 5 fields (minute hour day-of-month month day-of-week), got 4',
    );
    // robfig ParseStandard (the API server's check) accepts @every; its macros are case-sensitive
    expect(errors(CLUSTER() + cron('@every 5m'))).toEqual([]);
    expect(errors(CLUSTER() + cron('@Hourly'))[0]).toContain('unknown macro "@Hourly"');
  });

  test('a workload whose pods no node can run is an error at the workload', () => {
    expect(errors(CLUSTER('nodes: 1') + DEPLOY('web', 1, '      nodeSelector: { disk: ssd }\n'))[0]).toMatch(
      new RegExp(
        `^test.yaml:\\d+:\\d+: error: Deployment default/web: metadata.name: no node can run pod web-${HASH}-${SUFFIX}: node1 lacks label disk=ssd \\(nodeSelector\\)`,
      ),
    );
  });
});
