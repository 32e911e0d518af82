/**
 * The request checks of the Checkmk contract server (checkmk.ts), as the real one makes them: bodies
 * validated against the spec's schemas (marshmallow with unknown=RAISE: unknown members and unknown host
 * attributes are refused), the spec's name and folder patterns, tag groups that exist, If-Match.
 */
import type { IncomingMessage } from 'node:http'
import { HOST_ATTRIBUTES, PATTERNS, SCHEMAS } from './checkmk-spec-facts.ts'

/** An error answer: a problem document (`application/problem+json`). */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail)
  }
}

export function requestRules(tagGroups: Record<string, string[]>, siteId: string) {
  /** Body checks the real server makes (marshmallow with unknown=RAISE). */
  const object = (v: unknown, schema: string, where: string): Record<string, unknown> => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Problem(400, 'Bad Request', `${where}: must be an object`)
    const o = v as Record<string, unknown>
    const facts = SCHEMAS[schema]!
    const unknown = Object.keys(o).filter((k) => !facts.properties.includes(k))
    if (unknown.length) throw new Problem(400, 'Bad Request', 'These fields have problems: ' + unknown.join(', '), { fields: Object.fromEntries(unknown.map((k) => [`${where}.${k}`, ['Unknown field.']])) })
    const missing = facts.required.filter((k) => o[k] === undefined)
    if (missing.length) throw new Problem(400, 'Bad Request', 'These fields have problems: ' + missing.join(', '), { fields: Object.fromEntries(missing.map((k) => [`${where}.${k}`, ['Missing data for required field.']])) })
    return o
  }
  const attributes = (v: unknown, where: string): Record<string, unknown> => {
    if (v === undefined) return {}
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Problem(400, 'Bad Request', `${where}: must be an object`)
    for (const [k, value] of Object.entries(v)) {
      if (k.startsWith('tag_')) {
        const allowed = tagGroups[k]
        if (!allowed) throw new Problem(400, 'Bad Request', `${where}.${k}: Tag group ${k.slice(4)} does not exist`)
        if (typeof value !== 'string' || !allowed.includes(value)) throw new Problem(400, 'Bad Request', `${where}.${k}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`)
        continue
      }
      if (!HOST_ATTRIBUTES.includes(k)) throw new Problem(400, 'Bad Request', `${where}.${k}: Unknown field.`)
      if (k === 'labels') {
        if (!value || typeof value !== 'object' || Object.values(value).some((x) => typeof x !== 'string')) throw new Problem(400, 'Bad Request', `${where}.labels: must map strings to strings`)
      } else if (['alias', 'site', 'ipaddress', 'ipv6address', 'management_address'].includes(k) && typeof value !== 'string') {
        throw new Problem(400, 'Bad Request', `${where}.${k}: Not a valid string.`)
      }
      if (k === 'site' && value !== siteId) throw new Problem(400, 'Bad Request', `${where}.site: Unknown site ${JSON.stringify(value)}`)
    }
    return v as Record<string, unknown>
  }
  const folderPath = (v: unknown, pattern: RegExp, where: string): string => {
    if (typeof v !== 'string' || !pattern.test(v)) throw new Problem(400, 'Bad Request', `${where}: ${JSON.stringify(v)} does not match the folder pattern`)
    return `/${v.split(/[~/\\]/).filter(Boolean).join('/')}`
  }
  const hostName = (v: unknown, where: string): string => {
    if (typeof v !== 'string' || !PATTERNS.hostName.test(v)) throw new Problem(400, 'Bad Request', `${where}: ${JSON.stringify(v)} is not a valid host name`)
    return v
  }
  const entries = (body: unknown, schema: string): unknown[] => {
    const o = object(body, schema, 'body')
    if (!Array.isArray(o.entries)) throw new Problem(400, 'Bad Request', 'entries: Not a valid list.')
    return o.entries
  }
  const ifMatch = (req: IncomingMessage, etag: string) => {
    const given = req.headers['if-match']
    if (!given) throw new Problem(428, 'Precondition required', 'If-Match header required for this operation. See documentation.')
    if (given !== etag && given !== '*') throw new Problem(412, 'Precondition failed', `ETag didn't match. Expected ${etag}. Probable cause: Object changed by another user.`)
  }
  return { object, attributes, folderPath, hostName, entries, ifMatch }
}
