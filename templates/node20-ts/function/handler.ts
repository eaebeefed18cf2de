/**
 * Sample handler of the node20-ts template. `faas-cli new --lang node20-ts` copies this
 * folder for a new function, and in a build the function's own handler folder is laid over
 * it (its handler.ts replaces this file). It is also what index.ts loads when neither
 * HANDLER_MODULE is set nor another handler is present.
 *
 * A real handler lives in functions/<name>/handler.ts and types itself with the template's
 * contract.ts (the pipeline's through shared/platform/function-contract.ts); it may also
 * export `hooks` for the server (contract.ts says which). This sample declares the shapes
 * inline so that it compiles wherever it is copied.
 */
interface SampleEvent {
  body: Buffer;
  headers: Record<string, string | undefined>;
  method: string;
  query: Record<string, string>;
  path: string;
}

interface SampleResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export default async function handler(event: SampleEvent): Promise<SampleResult> {
  return {
    status: 501,
    body: {
      error: 'not_implemented',
      message: 'node20-ts sample handler: set HANDLER_MODULE or build with a function handler',
      method: event.method,
      path: event.path,
      query: event.query,
    },
  };
}
