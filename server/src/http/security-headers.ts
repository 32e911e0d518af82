/**
 * Security headers on every HTTP response: the API's JSON, the web UI's pages and assets, GraphiQL.
 *
 * The web UI's Content-Security-Policy allows scripts, styles, images and fonts only from the
 * server's own origin and connections (HTTP and WebSocket) only back to it, and forbids framing.
 * Inline scripts run only when their sha256 is listed: the UI is a static export whose pages carry
 * fixed inline scripts (Next's React Server Components payload and bootstrap, the theme boot script),
 * so ui.ts lists each page's own hashes (uiCsp) and no 'unsafe-inline' is needed for scripts.
 * Styles keep 'unsafe-inline' (React writes style attributes).
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

/** The UI's policy; `scriptHashes` ('sha256-…' sources) are the page's inline scripts. */
export function uiCsp(scriptHashes: readonly string[] = []): string {
  return [
    "default-src 'self'",
    ["script-src 'self'", ...scriptHashes].join(' '),
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
}

/** For UI responses that are not pages (assets, payloads, errors): no inline script at all. */
export const UI_CSP = uiCsp()

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
