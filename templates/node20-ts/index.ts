/**
 * The template's entrypoint: loads the handler module named by HANDLER_MODULE and serves it
 * (server.ts) for the of-watchdog in http mode. The image runs the function's bundle
 * instead (bundle.mjs: the same two modules and their dependencies in one file, which loads
 * in about a third less time); this file is what runs the compiled tree, for a handler
 * of one's own and the entrypoint tests.
 */

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HandlerModule } from './contract.js';
import { serve } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const handlerPath = process.env.HANDLER_MODULE
  ? path.resolve(process.env.HANDLER_MODULE)
  : path.join(here, 'function', 'handler.js');

const mod = (await import(pathToFileURL(handlerPath).href)) as Partial<HandlerModule>;
if (typeof mod.default !== 'function') {
  throw new Error(`${handlerPath} has no default export handler`);
}
serve({ default: mod.default, hooks: mod.hooks }, path.basename(path.dirname(handlerPath)));
