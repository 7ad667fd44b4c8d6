/** Stand-ins for what the loader hands the controllers: recording anchors, pod specs, templates, a pod store. */
import type { Anchor } from '../../../src/kube/load/controllers/anchor.js';
import type { GeneratedPod, PodStore } from '../../../src/kube/load/controllers/workload-pods.js';
import { DiagnosticSink, formatDiagnostic } from '../../../src/kube/load/diagnostics.js';
import { Field } from '../../../src/kube/load/field.js';
import type { PodSpecDraft } from '../../../src/kube/load/readers/pod.js';
import type { TemplateDraft } from '../../../src/kube/load/readers/workload.js';

/** A log of reports, and anchors writing to it (`<name>: error: <message>`). */
export function recorder(): {
  readonly log: string[];
  at(name: string): Anchor;
  present(name: string): Anchor & { readonly present: boolean };
  absent(name: string): Anchor & { readonly present: boolean };
} {
  const log: string[] = [];
  const at = (name: string): Anchor => ({
    path: name,
    source: () => ({ file: 'test.yaml', line: 1, col: 1 }),
    error: (message: string) => {
      log.push(`${name}: error: ${message}`);
    },
    notice: (message: string) => {
      log.push(`${name}: notice: ${message}`);
    },
    objectNotice: (message: string) => {
      log.push(`${name}: notice: ${message}`);
    },
  });
  return {
    log,
    at,
    present: (name) => ({ ...at(name), present: true }),
    absent: (name) => ({ ...at(name), present: false }),
  };
}

/** A sink and detached fields reporting into it (for the workload controllers, which keep `Field`s). */
export function fields(): { readonly sink: DiagnosticSink; field(object: string): Field; messages(): string[] } {
  const sink = new DiagnosticSink();
  return {
    sink,
    field: (object) => Field.detached(sink, 'test.yaml', object),
    messages: () => sink.sorted().map(formatDiagnostic),
  };
}

const quiet = Field.detached(new DiagnosticSink(), 'test.yaml', undefined);

/** A pod spec with one container and no constraints, changed by `over`. */
export function podSpec(over: Partial<PodSpecDraft> = {}): PodSpecDraft {
  return {
    field: quiet,
    nodeName: undefined,
    nodeNameField: quiet,
    hostNetwork: false,
    hostname: undefined,
    subdomain: undefined,
    containers: [{ name: 'c', ports: [] }],
    tolerations: [],
    nodeSelector: {},
    affinity: [],
    restartPolicy: undefined,
    ...over,
  };
}

/** A pod template with `labels` (and `spec`, `raw` for the template hash). */
export function template(
  labels: Record<string, string>,
  spec = podSpec(),
  raw: unknown = { metadata: { labels } },
): TemplateDraft {
  return { field: quiet, labels, spec, raw, runTime: undefined };
}

/** A pod store in memory, holding `taken` (`ns/name`) from the start. */
export function memoryStore(taken: readonly string[] = []): PodStore & { readonly pods: GeneratedPod[] } {
  const names = new Set(taken);
  const pods: GeneratedPod[] = [];
  return {
    pods,
    taken: (namespace, name) => names.has(`${namespace}/${name}`),
    add: (pod) => {
      names.add(`${pod.namespace}/${pod.name}`);
      pods.push(pod);
    },
  };
}

/** The source of a workload at `seq` whose problems go to `nameField`. */
export function from(
  nameField: Field,
  seq = 0,
  origin: 'user' | 'addon' = 'user',
): { nameField: Field; origin: 'user' | 'addon'; seq: number; source: { file: string; line: number; col: number } } {
  return { nameField, origin, seq, source: { file: 'test.yaml', line: 1, col: 1 } };
}

/** Suffixes of generated names: the apiserver's alphabet. */
export const SUFFIX = '[bcdfghjklmnpqrstvwxz2456789]{5}';
