/** The URL field of things Switchyard calls over HTTP (inventory sources, notification channels). */
import { z } from 'zod'

/**
 * An http:// or https:// URL with no user or password in it (secrets belong in a stored credential, which
 * is write-only; a URL is shown back). `base`: a service's base URL, so no query or fragment either.
 */
export function httpUrlSchema(options: { base?: boolean } = {}) {
  const rule = options.base ? 'an http:// or https:// URL without credentials, query or fragment (e.g. https://nautobot.example.com)' : 'an http:// or https:// URL without credentials'
  return z
    .string()
    .trim()
    .max(2000)
    .refine((u) => {
      try {
        const p = new URL(u)
        return (p.protocol === 'http:' || p.protocol === 'https:') && !p.username && !p.password && (!options.base || (!p.search && !p.hash))
      } catch {
        return false
      }
    }, `must be ${rule}`)
}
