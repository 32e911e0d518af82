/**
 * Security headers on every HTTP response: the API's JSON, the web UI's pages and assets, GraphiQL.
 *
 * The web UI's Content-Security-Policy allows scripts, styles, images and fonts only from the
 * server's own origin and connections (HTTP and WebSocket) only back to it, and forbids framing.
 * Scripts also need 'unsafe-inline': Next.js writes each page's React Server Components payload as
 * inline <script> tags whose content changes per request on dynamic routes (runs/[id] …), so neither
 * hashes nor a static allow-list can cover them; everything else stays same-origin only.
 */
import type http from 'node:http'

const common = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
}

/** The API answers data, never documents: nothing may load, run or frame it. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

export const UI_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** Yoga's GraphiQL page loads its editor from unpkg.com (only served when GraphiQL is enabled). */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' https://unpkg.com",
  "style-src 'self' 'unsafe-inline' https://unpkg.com",
  "img-src 'self' data: https://raw.githubusercontent.com",
  "font-src 'self' data: https://unpkg.com",
  "connect-src 'self'",
  "worker-src 'self' blob: https://unpkg.com",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ')

export function setSecurityHeaders(res: http.ServerResponse, csp: string): void {
  for (const [name, value] of Object.entries(common)) res.setHeader(name, value)
  res.setHeader('content-security-policy', csp)
}

/** Yoga renders GraphiQL for a browser's GET (Accept: text/html) to the endpoint. */
export function wantsGraphiQL(req: http.IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')
}
