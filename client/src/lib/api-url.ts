/**
 * Where the API lives: the page's own origin (the server serves the UI), or the URL given at build
 * time in NEXT_PUBLIC_SWITCHYARD_API_URL (for `next dev` against a separately running server).
 */
const configured = (process.env.NEXT_PUBLIC_SWITCHYARD_API_URL ?? '').replace(/\/+$/, '')

export function graphqlHttpUrl(): string {
  const base = configured || (typeof window === 'undefined' ? 'http://127.0.0.1:4000' : window.location.origin)
  return `${base}/graphql`
}

export function graphqlWsUrl(): string {
  return graphqlHttpUrl().replace(/^http/, 'ws')
}

/** The API server's origin: where inbound webhook URLs (`/hooks/…`) live. */
export function apiOrigin(): string {
  return configured || (typeof window === 'undefined' ? 'http://127.0.0.1:4000' : window.location.origin)
}
