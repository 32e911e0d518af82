// Preloaded (`node --import`) into the compiled server by compiled-server.test.ts: reports every module
// resolved to a TypeScript file, so the test proves the production start path never needs a
// TypeScript loader — not even lazily, for a code path the test happens to reach.
import { registerHooks } from 'node:module'

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context)
    if (/\.[cm]?tsx?$/.test(new URL(resolved.url).pathname)) process.stderr.write(`TYPESCRIPT IMPORT ${resolved.url}\n`)
    return resolved
  },
})
