/**
 * Import rules of src/ (docs/architecture.md, "Layers"), checked in CI (.ci/run):
 *   cli → http → write (the write pipeline), bulk, changes → domain → model; storage implements storage/ports.ts.
 * Type-only imports count: a cycle of types is still a cycle.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle anywhere in src/, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'model-imports-nothing',
      severity: 'error',
      comment: 'The nouns import nothing of the project but one another.',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: '^src/model/' },
    },
    {
      name: 'storage-imports-model-only',
      severity: 'error',
      comment:
        'Adapters implement storage/ports.ts and import only model/ and storage/ itself, and thread-entry.ts (where a compiled thread entry lies; it imports nothing).',
      from: { path: '^src/storage/' },
      to: { path: '^src/', pathNot: '^src/(model|storage)/|^src/thread-entry[.]ts$' },
    },
    {
      name: 'domain-imports-model-and-ports-only',
      severity: 'error',
      comment: 'Pure rules: domain/ imports model/, domain/ and the role interfaces (storage/ports.ts), never an adapter, the pipeline or http.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/(model|domain)/|^src/storage/ports[.]ts$' },
    },
    {
      name: 'services-not-above-themselves',
      severity: 'error',
      comment: 'The write pipeline, bulk data and the change feed are used by http and the entry points, never the reverse; they take roles, never an adapter.',
      from: { path: '^src/(write|bulk|changes)/' },
      to: { path: '^src/(http|cli)/|^src/storage/(sqlite|postgres)/' },
    },
    {
      name: 'http-only-from-entry-points',
      severity: 'error',
      comment: 'Nothing below http imports it.',
      from: { path: '^src/(model|domain|storage|write|bulk|changes|config)/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'http-never-chooses-an-adapter',
      severity: 'error',
      comment: 'http takes roles (storage/ports.ts); only the entry points open a store.',
      from: { path: '^src/http/' },
      to: { path: '^src/storage/(sqlite|postgres)/|^src/cli/' },
    },
    {
      name: 'cli-only-from-cli',
      severity: 'error',
      comment: 'cli/ is the top: only cli/ imports it.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'adapters-only-from-entry-points',
      severity: 'error',
      comment: 'Only the entry points (main.ts, the pipeline thread, open-store.ts and cli/) choose an adapter.',
      from: { path: '^src/', pathNot: '^src/(main|pipeline-thread-main|open-store|thread-entry)[.]ts$|^src/cli/|^src/storage/(sqlite|postgres)/' },
      to: { path: '^src/storage/(sqlite|postgres)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
  },
};
