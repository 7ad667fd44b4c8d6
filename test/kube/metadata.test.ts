/** The shared metadata reader: what kinds read of `metadata`, reported at its positions; the rest read leniently. */
import { describe, expect, test } from 'vitest';
import { DiagnosticSink, formatDiagnostic } from '../../src/kube/load/diagnostics.js';
import { parseText } from '../../src/kube/load/documents.js';
import {
  controllerOf,
  labelOf,
  ownerOf,
  readMetadata,
  readTemplateMetadata,
  type MetadataRules,
} from '../../src/kube/load/metadata.js';
import { LoadState, type ObjectInput } from '../../src/kube/load/state.js';
import { dnsSubdomain } from '../../src/kube/load/values.js';

function read(
  yaml: string,
  rules: MetadataRules,
): { meta: ReturnType<typeof readMetadata>; input: ObjectInput; messages: string[] } {
  const sink = new DiagnosticSink();
  const parsed = parseText(yaml, 'test.yaml', sink);
  const obj = parsed.objects[0]!;
  const label = `Pod ${obj.namespace ?? 'default'}/${obj.name ?? '(unnamed)'}`;
  const input: ObjectInput = {
    ...obj,
    root: obj.root.withObject(label),
    label,
    effectiveNamespace: obj.namespace ?? 'default',
    origin: 'user',
    seq: 0,
  };
  const meta = readMetadata(input, new LoadState(sink), rules);
  return { meta, input, messages: sink.sorted().map(formatDiagnostic) };
}

const POD_RULES: MetadataRules = {
  name: { check: dnsSubdomain, required: { expected: 'the pod name (a DNS-1123 subdomain)' } },
  namespace: true,
  labels: true,
};

describe('readMetadata', () => {
  test('name, namespace and labels of a valid object', () => {
    const { meta, messages } = read(
      'kind: Pod\nmetadata: { name: web, namespace: shop, labels: { app: web } }\n',
      POD_RULES,
    );
    expect(messages).toEqual([]);
    expect(meta).toMatchObject({
      name: 'web',
      validName: 'web',
      namespace: 'shop',
      validNamespace: 'shop',
      labels: { app: 'web' },
      valid: true,
    });
  });

  test('problems are reported at their fields; a bad name still names the object', () => {
    const { meta, messages } = read(
      'kind: Pod\nmetadata:\n  name: Web_1\n  namespace: Shop\n  labels: { app: 7 }\n',
      POD_RULES,
    );
    expect(messages).toEqual([
      'test.yaml:3:9: error: Pod Shop/Web_1: metadata.name: expected a DNS-1123 subdomain (lowercase letters, digits, "-" ' +
        'and ".", starting and ending with a letter or digit, at most 253 characters), got "Web_1"',
      'test.yaml:4:14: error: Pod Shop/Web_1: metadata.namespace: expected a DNS-1123 label (lowercase letters, digits and ' +
        '"-", starting and ending with a letter or digit, at most 63 characters), got "Shop"',
      'test.yaml:5:18: error: Pod Shop/Web_1: metadata.labels.app: expected a string (quote numbers and booleans), got 7',
    ]);
    expect(meta).toMatchObject({
      name: 'Web_1',
      validName: undefined,
      namespace: 'Shop',
      validNamespace: undefined,
      labels: undefined,
      valid: false,
    });
  });

  test('a missing name is reported when required; parts not asked for are not read', () => {
    expect(read('kind: Pod\nmetadata: { namespace: shop }\n', POD_RULES).messages).toEqual([
      'test.yaml:2:1: error: Pod shop/(unnamed): metadata.name: missing required field, expected the pod name (a DNS-1123 subdomain)',
    ]);
    const quiet = read('kind: Pod\nmetadata: { name: web, namespace: Shop, labels: 7 }\n', {
      name: { check: dnsSubdomain },
    });
    expect(quiet.messages).toEqual([]);
    expect(quiet.meta.valid).toBe(true);
  });

  test('annotations and owner references are read leniently', () => {
    const { meta, input, messages } = read(
      `kind: Pod
metadata:
  name: web-1
  labels: { app: web }
  annotations: { podnet.dev/run-time: 30s }
  ownerReferences:
    - { kind: ReplicaSet, name: first }
    - { kind: ReplicaSet, name: web-5d78c9869d, controller: true }
`,
      POD_RULES,
    );
    expect(messages).toEqual([]);
    expect(meta.annotation('podnet.dev/run-time')?.raw()).toBe('30s');
    expect(meta.annotation('other')).toBeUndefined();
    expect(ownerOf(meta)).toEqual({ kind: 'ReplicaSet', name: 'web-5d78c9869d', controller: true });
    expect(controllerOf(meta)).toEqual({ kind: 'ReplicaSet', name: 'web-5d78c9869d' });
    expect(labelOf(input.root, 'app')).toBe('web');
    expect(labelOf(input.root, 'tier')).toBeUndefined();
  });

  test('owner references without a controller: the first is the owner, there is no controller', () => {
    const { meta } = read(
      'kind: Pod\nmetadata:\n  name: p\n  ownerReferences: [{ kind: Job, name: backup }, { kind: CronJob }]\n',
      POD_RULES,
    );
    expect(ownerOf(meta)).toEqual({ kind: 'Job', name: 'backup', controller: false });
    expect(controllerOf(meta)).toBeUndefined();
    expect(read('kind: Pod\nmetadata:\n  name: p\n  ownerReferences: oops\n', POD_RULES).meta.ownerReferences).toEqual(
      [],
    );
  });

  test('template metadata: labels (undefined when invalid, {} when absent) and annotations', () => {
    const sink = new DiagnosticSink();
    const root = parseText(
      'kind: X\nspec:\n  template:\n    metadata: { labels: { app: web }, annotations: { a: b } }\n',
      'test.yaml',
      sink,
    ).objects[0]!.root;
    const t = readTemplateMetadata(root.at('spec.template'));
    expect(t.labels).toEqual({ app: 'web' });
    expect(t.annotation('a')?.raw()).toBe('b');
    expect(readTemplateMetadata(root.at('spec')).labels).toEqual({});
  });
});
