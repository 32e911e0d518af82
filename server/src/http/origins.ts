/**
 * Which browser origins may use the API. Browsers send `Origin` with cross-origin requests and with
 * every WebSocket handshake; the server's own origin (the web UI) and the configured allow-list
 * (SWITCHYARD_CORS_ORIGINS) are accepted. Non-browser clients send no Origin and are not affected.
 */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}

export function isAllowedOrigin(origin: string | undefined | null, host: string | undefined, allowList: readonly string[]): boolean {
  if (origin == null) return true
  return isSameOrigin(origin, host) || allowList.includes(origin.toLowerCase())
}
