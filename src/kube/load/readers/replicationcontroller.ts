/**
 * Kubernetes `ReplicationController` (v1), the ReplicaSet's predecessor (guestbook-go, old
 * tutorials): spec.template (see workload.ts), spec.replicas (default 1) and spec.selector, a plain
 * label map rather than a LabelSelector. As the API server has it (pkg/apis/core/v1/defaults.go
 * SetDefaults_ReplicationController, validation.go ValidateReplicationControllerSpec): a selector
 * absent or empty defaults to the template's labels; it must then be non-empty and match them; the
 * template's restartPolicy must be Always (its default). The ReplicaSet controller's logic
 * (controllers/replicaset.ts) makes its pods `<rc>-<5 chars>`, counting those it owns or adopts.
 */
import type { Field } from '../field.js';
import type { KindReader } from '../state.js';
import { labelKey, labelValue } from '../values.js';
import { readReplicas, readTemplate, readWorkload, type ReplicatedSpec, type WorkloadObject } from './workload.js';

/** What a valid ReplicationController asks for (its selector as a LabelSelector of matchLabels only). */
export type ReplicationControllerSpec = ReplicatedSpec;

/** A ReplicationController as read. */
export type ReplicationControllerDraft = WorkloadObject<'ReplicationController', ReplicationControllerSpec>;

/** Reads ReplicationController documents. */
export const replicationControllerKind: KindReader = {
  kind: 'ReplicationController',
  apiVersions: ['v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('ReplicationController', obj, state, readSpec);
  },
};

function readSpec(spec: Field): ReplicationControllerSpec | undefined {
  const templateF = spec.child('template');
  const template = readTemplate(templateF, 'ReplicationController');
  const selF = spec.child('selector');
  const given = selF.present && selF.raw() !== null ? selF.stringMap('', labelKey, labelValue) : {};
  const replicas = readReplicas(spec);
  let ok = template !== undefined && given !== undefined && replicas !== undefined;
  if (template !== undefined && template.spec.restartPolicy !== undefined && template.spec.restartPolicy !== 'Always') {
    templateF
      .at('spec.restartPolicy')
      .error(`expected "Always" for a ReplicationController's pods, got "${template.spec.restartPolicy}"`);
    ok = false;
  }
  if (template === undefined || given === undefined) return undefined;
  // The API server defaults an empty selector to the template's labels.
  const matchLabels = Object.keys(given).length > 0 ? given : template.labels;
  if (Object.keys(matchLabels).length === 0) {
    selF.missing('a label map selecting the pods (or labels on spec.template.metadata.labels to default it from)');
    return undefined;
  }
  const unmatched = Object.entries(matchLabels).filter(([k, v]) => template.labels[k] !== v);
  if (unmatched.length > 0) {
    const labelsF = templateF.at('metadata.labels');
    (labelsF.present ? labelsF : templateF).error(
      `selector ${Object.entries(matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')} does not match the template's labels (${
        Object.entries(template.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || 'none'
      }): spec.template.metadata.labels must carry every selector label`,
    );
    return undefined;
  }
  return ok && replicas !== undefined
    ? { selector: { matchLabels, matchExpressions: [] }, template, replicas }
    : undefined;
}
