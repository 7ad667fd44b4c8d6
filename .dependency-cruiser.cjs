/**
 * The layers of src/, lowest first: a folder may import only from itself and the folders listed
 * for it (type-only imports included). Data flows one way: topology → model → network → engine →
 * sinks; nothing reaches back up. `npm test` runs `npm run lint:layers`.
 */
const LAYERS = {
  wire: [],
  sim: ['wire'],
  events: ['sim', 'wire'],
  net: ['events', 'sim', 'wire'],
  netfilter: ['net', 'events', 'sim', 'wire'],
  kube: ['netfilter', 'net', 'events', 'sim', 'wire'],
  apps: ['kube', 'net', 'events', 'sim', 'wire'],
  trace: ['events', 'sim', 'wire'],
  api: ['trace', 'apps', 'kube', 'netfilter', 'net', 'events', 'sim', 'wire'],
  testing: ['api', 'trace', 'apps', 'kube', 'netfilter', 'net', 'events', 'sim', 'wire'],
  verify: ['api', 'trace', 'apps', 'kube', 'netfilter', 'net', 'events', 'sim', 'wire'],
  bench: ['api', 'trace', 'apps', 'kube', 'netfilter', 'net', 'events', 'sim', 'wire'],
  cli: ['verify', 'testing', 'api', 'trace', 'apps', 'kube', 'netfilter', 'net', 'events', 'sim', 'wire'],
};

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ may import only from ${allowed.length ? allowed.map((a) => `src/${a}/`).join(', ') : 'nothing else in src/'} (and itself)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: '^src/', pathNot: [`^src/(${[layer, ...allowed].join('|')})/`] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-layer-for-file',
      comment: 'every source file lives in a layer folder; only the package entries sit at the top (src/index.ts, and src/internals.ts, podnet/internals, which re-exports the engine from every layer below cli)',
      severity: 'error',
      from: { path: '^src/[^/]+$', pathNot: '^src/(index|internals)\\.ts$' },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
