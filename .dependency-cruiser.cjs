/**
 * The architecture's rules, checked by `npm run lint` (dependency-cruiser): an import that
 * climbs a layer or closes a circle fails with the rule's name. The layers of shared/, from
 * the bottom: domain (pure), platform (database, config, log, input, invocation), eodhd (the
 * API client and its schemas, no database), store (one owner module per table, the API
 * ledger the client books into), steps (what each function decides), observe (what
 * operators see). docs/architecture.md says why.
 */
const below = (from, above) => ({
  from: { path: `^shared/${from}/` },
  to: { path: `^shared/(${above.join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Two modules that import each other (directly or round a circle) are one concept in two files: merge them, or move what both need below them. A circle of type-only imports is erased at compile time and allowed.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'domain/ (dates, exchanges, calendars, indicators) knows nothing of the database, the API or the steps.',
      from: { path: '^shared/domain/' },
      to: { path: '^shared/(?!domain/)' },
    },
    {
      name: 'platform-below-the-pipeline',
      severity: 'error',
      comment: 'platform/ serves every layer above it and imports none of them.',
      ...below('platform', ['eodhd', 'store', 'steps', 'observe']),
    },
    {
      name: 'eodhd-knows-no-database',
      severity: 'error',
      comment: 'The EODHD client speaks HTTP and books its requests through a CallBook: it imports no table owner, no step, nothing operators see, and not the database pool.',
      from: { path: '^shared/eodhd/' },
      to: { path: '^shared/(store|steps|observe)/|^shared/platform/(db|copy-in)[.]ts$' },
    },
    {
      name: 'store-below-the-steps',
      severity: 'error',
      comment: 'A table owner never imports a step or what operators see: steps call owners, not the other way round.',
      ...below('store', ['steps', 'observe']),
    },
    {
      name: 'steps-below-observe',
      severity: 'error',
      comment: 'A step never imports the status page, the metrics of the status or the health check.',
      ...below('steps', ['observe']),
    },
    {
      name: 'screen-reads',
      severity: 'error',
      comment: 'screen/ (the screen function and its pages) reads what the pipeline keeps ready: it imports no step, no API client and nothing of the status; it writes nothing.',
      from: { path: '^shared/screen/' },
      to: { path: '^shared/(steps|eodhd|observe)/' },
    },
    {
      name: 'screen-on-top',
      severity: 'error',
      comment: 'Nothing the pipeline runs depends on the screen: only the screen function imports screen/.',
      from: { path: '^shared/(?!screen/)' },
      to: { path: '^shared/screen/' },
    },
    {
      name: 'shared-stays-inside',
      severity: 'error',
      comment: 'shared/ is what the functions ship: it never imports the local tools, the tests or a function.',
      from: { path: '^shared/' },
      to: { path: '^(dev|test|bench|functions|scripts)/' },
    },
    {
      name: 'functions-are-thin',
      severity: 'error',
      comment: 'A handler parses, calls shared/, answers: it imports no other function and no local tool.',
      from: { path: '^functions/([^/]+)/' },
      to: { path: '^(dev|test|bench|scripts)/|^functions/(?!$1/)' },
    },
    {
      name: 'template-serves-any-handler',
      severity: 'error',
      comment: 'The template (templates/node20-ts) is independent of the functions it serves, as the official OpenFaaS templates are: what a function adds comes through its module\'s hooks.',
      from: { path: '^templates/' },
      to: { path: '^(shared|functions|dev|test|bench|scripts)/' },
    },
    {
      name: 'no-dev-dependency-in-what-ships',
      severity: 'error',
      comment: 'What the image runs (functions, shared, the template) needs only production dependencies.',
      from: { path: '^(shared|functions|templates)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
