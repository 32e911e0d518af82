/**
 * The `http` job type: one HTTP request (no targets), successful when the status is expected and the
 * optional body check passes. Network errors, timeouts, 5xx, 408 and 429 are transient (the run's retry
 * policy applies); anything else that fails is permanent.
 *
 * Credentials come from a stored PASSWORD credential (`auth.type: credential`: basic with its user name
 * and password, or bearer with the password as the token) or from SECRET template parameters named in
 * `auth`; the run log masks secret values. The result records status, time and a truncated body.
 */
import { z } from 'zod'
import { isOutboundDenied, type OutboundPolicy } from '../../net/outbound-policy.ts'
import { coerceError } from '../../util/errors.ts'
import { compileUserRegex, userRegexProblem } from '../../util/safe-regex.ts'
import { renderTemplate } from '../../util/template.ts'
import { credentialIdField, credentialUuid, requireCredential } from './credential-ref.ts'
import type { AbortReason, ExecutionContext, ExecutionOutcome, JobExecutor } from './types.ts'

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const STATUS_SPEC = /^([1-5])xx$|^(\d{3})(?:-(\d{3}))?$/
const PARAMETER_NAME = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a parameter name')

const authSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('basic'),
      username: z.string().min(1).describe('User name (placeholders allowed).'),
      passwordParameter: PARAMETER_NAME.describe('Name of the SECRET template parameter holding the password.'),
    }).meta({ title: 'Basic (user name + SECRET password parameter)' }),
    z.object({
      type: z.literal('bearer'),
      tokenParameter: PARAMETER_NAME.describe('Name of the SECRET template parameter holding the token.'),
    }).meta({ title: 'Bearer (SECRET token parameter)' }),
    z.object({
      type: z.literal('credential'),
      credentialId: credentialIdField('A stored PASSWORD credential: its user name and password (basic), or its password as the token (bearer).'),
      scheme: z.enum(['basic', 'bearer']).default('basic').describe('`basic`: user name + password; `bearer`: the password is the token.'),
    }).meta({ title: 'Stored credential' }),
  ])
  // Titles label the form's fields (the client's JSON Schema form); the UI shows no property names.
  .meta({ title: 'Authorization' })
  .describe(
    'Authorization header: from a stored credential (`credential`), or from SECRET parameters: `basic` (username + password parameter) or `bearer` (token parameter).',
  )

const configSchema = z
  .object({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET').describe('HTTP method.'),
    url: z
      .string()
      .trim()
      .regex(/^(https?:\/\/|\{\{)[^\s{]*(\{\{[^}]*\}\}[^\s{]*)*$/i, 'must be an http:// or https:// URL (or start with a placeholder)')
      .describe('URL; placeholders such as `{{ params.host }}` or `{{ name }}` are replaced by the values as written.'),
    headers: z
      .record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string().refine((v) => !/[\r\n]/.test(v), 'must be one line'))
      .optional()
      .describe('Request headers (placeholders allowed in values).'),
    body: z
      .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
      .optional()
      .describe(
        'Request body: a string (placeholders allowed), or a JSON object/array sent as `application/json` with ' +
          'placeholders replaced inside its string values.',
      ),
    auth: authSchema.optional(),
    expectedStatus: z
      .array(z.union([z.number().int().min(100).max(599), z.string().regex(STATUS_SPEC, 'must be like 200, "2xx" or "200-204"')]))
      .min(1)
      .default(['2xx'])
      .meta({ title: 'Expected statuses' })
      .describe('Statuses that count as success: codes (`204`), classes (`"2xx"`) or ranges (`"200-299"`).'),
    check: z
      .object({
        jsonPath: z
          .string()
          .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted path such as `data.items.0.state`')
          .optional()
          .describe('Dotted path into the JSON body (list items by index); without it the check applies to the whole body text.'),
        equals: z.unknown().optional().describe('The value at `jsonPath` must equal this (deep equality).'),
        regex: z
          .string()
          .superRefine((r, issues) => {
            const problem = userRegexProblem(r)
            if (problem) issues.addIssue({ code: 'custom', message: problem })
          })
          .optional()
          .describe('The value at `jsonPath` (as text), or the body, must match this regular expression.'),
      })
      .refine((c) => c.equals !== undefined || c.regex !== undefined, { message: 'needs `equals` or `regex`', path: ['equals'] })
      .refine((c) => c.equals === undefined || c.jsonPath !== undefined, { message: '`equals` needs a `jsonPath`', path: ['jsonPath'] })
      .optional()
      .meta({ title: 'Check the response body' })
      .describe('Optional check on the response body, after the status check.'),
    timeoutSeconds: z.number().int().min(1).max(600).default(30).describe('Limit for the whole request, including reading the body.'),
    followRedirects: z.boolean().default(true).describe('Follow redirects (otherwise a 3xx is the final response).'),
    maxBodyBytes: z.number().int().min(0).max(65536).default(4096).describe('How much of the response body is kept in the run result.'),
  })
  .strict()
  // fetch() refuses a GET or HEAD with a body: say so when the template is saved, not at run time.
  .refine((c) => c.body === undefined || (c.method !== 'GET' && c.method !== 'HEAD'), { message: 'a GET or HEAD request has no body', path: ['body'] })
  // Whoever may trigger the template fills in its parameters; the stored credential is the owner's. A
  // placeholder in the host would let them send it to a server of their choosing.
  .refine((c) => c.auth?.type !== 'credential' || fixedOrigin(c.url) !== null, {
    message: 'with a stored credential (auth.type credential) the scheme and host must be written out: placeholders only after the host',
    path: ['url'],
  })

/**
 * The scheme://host:port a URL template fixes before any placeholder, or null when a placeholder can
 * change it (`http://{{ host }}/x`, `https://api{{ env }}.example.net/`).
 */
export function fixedOrigin(template: string): string | null {
  const m = /^(https?):\/\/([^/?#\\]*)/i.exec(template.trim())
  if (!m || !m[2] || /[{}@]/.test(m[2])) return null
  try {
    return new URL(`${m[1]}://${m[2]}/`).origin
  } catch {
    return null
  }
}

export type HttpConfig = z.output<typeof configSchema>
type Context = ExecutionContext<HttpConfig>

/** The most of a body read for the check; larger bodies are cut (and a JSON check on them fails). */
const CHECK_LIMIT_BYTES = 1024 * 1024

/**
 * `outbound`: the SSRF guard (net/outbound-policy.ts), applied to every connection the request makes,
 * redirects included; absent (unit tests), requests go out unchecked.
 */
export function createHttpExecutor(outbound?: OutboundPolicy): JobExecutor<typeof configSchema> {
  return { ...httpExecutor, execute: (ctx) => execute(ctx, outbound) }
}

export const httpExecutor: JobExecutor<typeof configSchema> = {
  type: 'http',
  label: 'HTTP request',
  description: 'Sends one HTTP request and checks the status (and optionally the body) of the response.',
  configSchema,
  usesTargets: false,
  // The written-out origin is checked at save; a host built from parameters only when the run connects.
  outboundRefs: (config) => {
    const origin = fixedOrigin(config.url)
    return origin ? [{ path: ['url'], urlOrHost: origin }] : []
  },
  credentialRefs: (config) =>
    config.auth?.type === 'credential'
      ? [{ path: ['auth', 'credentialId'], id: credentialUuid(config.auth.credentialId)!, kinds: ['PASSWORD'], purpose: 'HTTP authentication needs a PASSWORD credential (user name + password or token)' }]
      : [],
  execute: (ctx) => execute(ctx),
}

class PermanentError extends Error {}

async function execute(ctx: Context, outbound?: OutboundPolicy): Promise<ExecutionOutcome> {
  const { config } = ctx
  let request: { url: URL; init: RequestInit; secrets: string[] }
  try {
    request = buildRequest(ctx)
  } catch (err) {
    const message = coerceError(err).message
    ctx.log.system(message, { level: 'ERROR' })
    return { ok: false, error: message, retryable: false }
  }
  const { url, init, secrets } = request
  const hide = (text: string) => secrets.reduce((t, s) => (s ? t.replaceAll(s, '***') : t), text)
  const shownUrl = hide(url.toString())
  ctx.log.system(`${config.method} ${shownUrl}`)

  const timeout = AbortSignal.timeout(config.timeoutSeconds * 1000)
  const signal = AbortSignal.any([ctx.signal, timeout])
  const started = performance.now()
  const base = { method: config.method, url: shownUrl }
  let response: Response
  let body: { bytes: Buffer; truncated: boolean }
  try {
    response = await fetch(url, { ...init, signal, ...(outbound ? { dispatcher: outbound.dispatcher } : {}) } as RequestInit)
    body = await readBody(response, CHECK_LIMIT_BYTES)
  } catch (thrown) {
    const durationMs = Math.round(performance.now() - started)
    if (ctx.signal.aborted) {
      const cause = (ctx.signal.reason as Partial<AbortReason> | undefined)?.cause
      return { ok: false, error: cause === 'timeout' ? 'run timed out' : 'run cancelled', result: { ...base, durationMs } }
    }
    const error = timeout.aborted ? `request timed out after ${config.timeoutSeconds}s` : `request failed: ${describeFetchError(thrown)}`
    ctx.log.system(hide(error), { level: 'ERROR' })
    // A denied address stays denied: retrying cannot help.
    return { ok: false, error: hide(error), retryable: !isOutboundDenied(thrown), result: { ...base, durationMs } }
  }
  const durationMs = Math.round(performance.now() - started)
  const text = body.bytes.toString('utf8')
  const kept = body.bytes.subarray(0, config.maxBodyBytes).toString('utf8')
  const result = {
    ...base,
    status: response.status,
    statusText: response.statusText,
    durationMs,
    contentType: response.headers.get('content-type'),
    body: hide(kept),
    bodyTruncated: body.truncated || body.bytes.length > config.maxBodyBytes,
  }
  ctx.log.system(`HTTP ${response.status} ${response.statusText} in ${durationMs} ms (${body.bytes.length}${body.truncated ? '+' : ''} bytes)`)
  for (const line of kept.split(/\r?\n/).slice(0, 20)) if (line) ctx.log.system(line, { level: 'DEBUG' })

  if (!statusExpected(response.status, config.expectedStatus)) {
    const error = `unexpected status ${response.status} (expected ${config.expectedStatus.join(', ')})`
    ctx.log.system(error, { level: 'ERROR' })
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429
    return { ok: false, error, retryable, result }
  }
  if (config.check) {
    const failure = runCheck(config.check, text, body.truncated)
    if (failure) {
      ctx.log.system(`body check failed: ${hide(failure)}`, { level: 'ERROR' })
      return { ok: false, error: `body check failed: ${hide(failure)}`, retryable: false, result: { ...result, check: 'failed' } }
    }
    ctx.log.system('body check passed')
    return { ok: true, result: { ...result, check: 'passed' } }
  }
  return { ok: true, result }
}

function buildRequest(ctx: Context): { url: URL; init: RequestInit; secrets: string[] } {
  const { config, parameters } = ctx
  const vars = { ...parameters, params: parameters }
  const render = (text: string) => renderTemplate(text, vars, { quote: 'none' })
  let url: URL
  try {
    url = new URL(render(config.url))
  } catch (err) {
    if (err instanceof TypeError) throw new PermanentError('the rendered URL is not valid')
    throw err
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PermanentError('the rendered URL must use http or https')
  const headers = new Headers()
  for (const [name, value] of Object.entries(config.headers ?? {})) headers.set(name, render(value))
  const secrets: string[] = []
  const secret = (name: string) => {
    const value = parameters[name]
    if (typeof value !== 'string' || value === '') throw new PermanentError(`auth: parameter "${name}" has no value (use a SECRET parameter)`)
    secrets.push(value)
    return value
  }
  if (config.auth?.type === 'basic') {
    const user = render(config.auth.username)
    const credentials = Buffer.from(`${user}:${secret(config.auth.passwordParameter)}`).toString('base64')
    secrets.push(credentials)
    headers.set('authorization', `Basic ${credentials}`)
  } else if (config.auth?.type === 'bearer') {
    headers.set('authorization', `Bearer ${secret(config.auth.tokenParameter)}`)
  } else if (config.auth?.type === 'credential') {
    // Checked at save too (a template saved before that rule may still have a placeholder in its host).
    const origin = fixedOrigin(config.url)
    if (origin === null || url.origin !== origin) {
      throw new PermanentError(`auth.credentialId: the stored credential is sent only to the host the template's URL writes out${origin ? ` (${origin})` : ''}, not to ${url.origin}`)
    }
    let c
    try {
      c = requireCredential(ctx.credentials, config.auth.credentialId, 'auth.credentialId')
    } catch (err) {
      throw new PermanentError(coerceError(err).message)
    }
    if (c.kind !== 'PASSWORD') throw new PermanentError('auth.credentialId: HTTP authentication needs a PASSWORD credential')
    secrets.push(c.password)
    if (config.auth.scheme === 'bearer') headers.set('authorization', `Bearer ${c.password}`)
    else {
      const encoded = Buffer.from(`${c.username}:${c.password}`).toString('base64')
      secrets.push(encoded)
      headers.set('authorization', `Basic ${encoded}`)
    }
  }
  let body: string | undefined
  if (typeof config.body === 'string') body = render(config.body)
  else if (config.body !== undefined) {
    body = JSON.stringify(renderJson(config.body, render))
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  if (body !== undefined && (config.method === 'GET' || config.method === 'HEAD')) throw new PermanentError(`a ${config.method} request cannot have a body`)
  return { url, init: { method: config.method, headers, body, redirect: config.followRedirects ? 'follow' : 'manual' }, secrets }
}

function renderJson(value: unknown, render: (text: string) => string): unknown {
  if (typeof value === 'string') return render(value)
  if (Array.isArray(value)) return value.map((v) => renderJson(v, render))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderJson(v, render)]))
  return value
}

async function readBody(response: Response, limit: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  if (!response.body) return { bytes: Buffer.alloc(0), truncated: false }
  const chunks: Buffer[] = []
  let size = 0
  const reader = response.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { bytes: Buffer.concat(chunks), truncated: false }
      chunks.push(Buffer.from(value))
      size += value.byteLength
      if (size > limit) return { bytes: Buffer.concat(chunks).subarray(0, limit), truncated: true }
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}

function statusExpected(status: number, specs: ReadonlyArray<number | string>): boolean {
  return specs.some((spec) => {
    if (typeof spec === 'number') return status === spec
    const m = STATUS_SPEC.exec(spec)
    if (!m) return false
    if (m[1]) return Math.floor(status / 100) === Number(m[1])
    const low = Number(m[2])
    return status >= low && status <= Number(m[3] ?? low)
  })
}

/** Returns why the check failed, or null when it passed. */
function runCheck(check: NonNullable<HttpConfig['check']>, text: string, truncated: boolean): string | null {
  let subject: unknown = text
  if (check.jsonPath !== undefined) {
    if (truncated) return `the body is larger than ${CHECK_LIMIT_BYTES} bytes`
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return 'the body is not JSON'
    }
    const found = lookupPath(json, check.jsonPath)
    if (!found.ok) return `no value at ${check.jsonPath}`
    subject = found.value
  }
  if (check.equals !== undefined && !deepEqual(subject, check.equals)) {
    return `${check.jsonPath} is ${preview(subject)}, expected ${preview(check.equals)}`
  }
  if (check.regex !== undefined) {
    const asText = typeof subject === 'string' ? subject : JSON.stringify(subject)
    // Linear time: a pathological pattern cannot stall the process (the run's timeout could not stop it).
    if (!compileUserRegex(check.regex).test(asText)) return `${check.jsonPath ?? 'the body'} does not match /${check.regex}/`
  }
  return null
}

function lookupPath(value: unknown, path: string): { ok: true; value: unknown } | { ok: false } {
  let current = value
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return { ok: false }
    if (Array.isArray(current) && !/^\d+$/.test(key)) return { ok: false }
    current = (current as Record<string, unknown>)[key]
  }
  return { ok: true, value: current }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

function preview(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value)
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}

/** fetch wraps socket errors in `TypeError: fetch failed` with the real one as `cause`. */
function describeFetchError(thrown: unknown): string {
  const err = coerceError(thrown)
  const cause = (err as { cause?: { code?: string; message?: string } }).cause
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`
  return cause?.message ?? err.message
}
