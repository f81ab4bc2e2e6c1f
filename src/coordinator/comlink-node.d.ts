// Types for comlink's ESM Node adapter, which its package publishes without a
// declaration of its own at that path.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { NodeEndpoint } from 'comlink/dist/umd/node-adapter.js';
  export default function nodeEndpoint(endpoint: NodeEndpoint): Endpoint;
}
