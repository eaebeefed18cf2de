/**
 * The contract between the template (templates/node20-ts, which owns it) and a function's
 * handler module (functions/<name>/handler.ts): the handler's event and result, and the
 * hooks through which the pipeline's functions give the template their database check,
 * metrics, log lines and the answer to a database that is away (function-hooks.ts).
 */
export type {
  FunctionEvent,
  FunctionResult,
  Handler,
  ServerHooks,
} from '../../templates/node20-ts/contract.js';
