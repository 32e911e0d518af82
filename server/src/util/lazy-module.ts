/**
 * A package loaded on first use instead of at start. Every role runs in one process by default, and
 * some packages serve only a few job types or one kind of notification: ssh2 (SSH job types, key
 * checks), nodemailer (e-mail channels), liquidjs (message templates). Loaded at start they cost idle
 * memory in every process (measured in isolation: nodemailer ~30 MiB RSS, ssh2 ~19, liquidjs ~10).
 * `require` (these are CommonJS or dual packages) keeps the first use synchronous; the bundle
 * (scripts/build.mjs) leaves a computed `require` alone, so the package stays in node_modules.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined
  return () => (loaded ??= require(name) as T)
}
