// One function as one ES module file: its compiled handler, the template's server and every
// dependency they import, bundled by esbuild. What the image runs, and what the local gateway
// starts.
//
// Why: a cold start spends most of its time resolving and loading ~400 module files
// (express, pg, zod, undici, prom-client and the pipeline's own). One file, with no module
// resolution, loads in about a third less time. Node 20 has no compile cache for ES modules
// (module.enableCompileCache is Node 22), so this is the lever Node 20 offers.
//
//   node templates/node20-ts/bundle.mjs <handler folder> <output file>   (from the tree's root,
//   after tsc: it bundles dist/functions/<folder>/handler.js and dist/templates/node20-ts/server.js)
//
// Plain JavaScript: it runs in the image's build stage right after tsc, and in scripts/build.mjs.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bundles one function; resolves when the file is written. */
export async function bundleFunction(root, handlerFolder, outfile) {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(handlerFolder)) throw new Error(`not a handler folder name: ${handlerFolder}`);
  const { build } = await import('esbuild');
  await build({
    stdin: {
      contents: [
        `import * as handlerModule from './dist/functions/${handlerFolder}/handler.js';`,
        `import { serve } from './dist/templates/node20-ts/server.js';`,
        `serve(handlerModule, ${JSON.stringify(handlerFolder)});`,
      ].join('\n'),
      resolveDir: root,
      sourcefile: `${handlerFolder}-entry.js`,
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Whitespace and syntax only: names stay readable in the one-line errors and in a profile.
    minifyWhitespace: true,
    minifySyntax: true,
    // CommonJS dependencies (express, pg) call require() for Node's own modules.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    // pg loads pg-native only when asked to (never here).
    external: ['pg-native'],
    outfile,
    logLevel: 'error',
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [folder, out] = process.argv.slice(2);
  if (!folder || !out) {
    console.error('usage: node bundle.mjs <handler folder> <output file>');
    process.exit(2);
  }
  try {
    await bundleFunction(process.cwd(), folder, path.resolve(out));
  } catch (err) {
    console.error(`bundle of ${folder} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    process.exit(1);
  }
}
