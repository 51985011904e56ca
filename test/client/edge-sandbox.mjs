// Loads the SDK's ESM build in a V8 context that has only what an edge runtime has (fetch,
// WebCrypto, TextEncoder, URL, timers, console): no process, Buffer, require or Node modules.
// Run by test/client/package.test.ts as `node --experimental-vm-modules edge-sandbox.mjs <vectors>`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import vm from 'node:vm';

const {
  fetch,
  Headers,
  Request,
  Response,
  AbortController,
  TextEncoder,
  TextDecoder,
  URL,
  setTimeout,
  clearTimeout,
  console,
  queueMicrotask,
} = globalThis;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const noble = path.join(root, 'node_modules/@noble/hashes/esm');
const context = vm.createContext({
  fetch,
  Headers,
  Request,
  Response,
  AbortController,
  TextEncoder,
  TextDecoder,
  URL,
  crypto: globalThis.crypto,
  setTimeout,
  clearTimeout,
  console,
  queueMicrotask,
});
const cache = new Map();

function resolve(specifier, from) {
  // The browser/edge variant of noble's crypto shim (globalThis.crypto), not its Node variant.
  if (specifier.startsWith('@noble/hashes/'))
    return path.join(noble, `${specifier.slice('@noble/hashes/'.length).replace(/\.js$/, '')}.js`);
  if (specifier.startsWith('.')) return path.resolve(path.dirname(from), specifier);
  throw new Error(`the SDK imports ${specifier}, which an edge runtime does not have`);
}

async function load(file) {
  if (cache.has(file)) return cache.get(file);
  const mod = new vm.SourceTextModule(readFileSync(file, 'utf8'), { identifier: file, context });
  cache.set(file, mod);
  await mod.link((specifier) => load(resolve(specifier, file)));
  return mod;
}

const entry = await load(path.join(root, 'packages/client/dist/esm/index.js'));
await entry.evaluate();
const sdk = entry.namespace;
const vectors = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const v = vectors.buckets.find((b) => /[^\x20-\x7e]/.test(b.subjectId));
const client = sdk.createPromptClient({ baseUrl: 'http://127.0.0.1:9', ingestToken: 't', onError: () => {}, fallbacks: { k: 'Hi {{n}}' } });
const served = client.getPrompt('k', 'subject', { variables: { n: 'edge' } });
const externalId = client.logConversation({ promptKey: 'k', versionId: '00000000-0000-4000-8000-000000000000', success: true });
const closed = await client.close({ timeoutMs: 200 });
console.log(
  JSON.stringify({
    globals: { process: typeof context.process, Buffer: typeof context.Buffer, require: typeof context.require },
    bucket: sdk.assignmentBucket(v.experimentId, v.subjectId),
    expected: v.bucket,
    served,
    externalId,
    dropped: client.stats().dropped,
    closedOk: closed.ok,
  }),
);
