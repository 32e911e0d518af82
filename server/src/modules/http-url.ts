/** The URL field of things Switchyard calls over HTTP (inventory sources, notification channels). */
import { z } from 'zod'
import { ValidationError } from '../errors.ts'
import type { OutboundPolicy } from '../net/outbound-policy.ts'

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

/**
 * The save-time half of the SSRF guard (net/outbound-policy.ts): a URL or host whose address the outbound
 * policy denies is refused naming the field. The connection is checked again when it is made.
 */
export async function checkOutboundTarget(policy: OutboundPolicy | undefined, field: string, urlOrHost: string | null | undefined): Promise<void> {
  if (!policy || !urlOrHost) return
  const problem = await policy.problemWith(urlOrHost)
  if (problem) throw ValidationError.field(field, problem)
}
