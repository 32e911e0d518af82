/**
 * Detail pages (/runs/<id>, /templates/<id> …) are exported once, for a placeholder id, because the UI
 * is a static export (next.config.mjs) and the ids only exist at run time. The Switchyard server
 * answers /runs/<any id> with that one page (server/src/http/ui-files.ts), so the page reads the
 * real id from the address bar, never from the route params: those name the placeholder.
 * (No hooks here: the server-component page files import this module for generateStaticParams.)
 */
/** The one id each detail route is exported for. The server maps every other id onto it. */
export const PLACEHOLDER_ID = '_'

/** generateStaticParams for an `[id]` route: the placeholder only. */
export function placeholderParams(): { id: string }[] {
  return [{ id: PLACEHOLDER_ID }]
}

/** The id in the address: the last path segment, decoded (ids may hold any character). */
export function idFromPathname(pathname: string | null): string {
  const last = (pathname ?? '').replace(/\/+$/, '').split('/').pop() ?? ''
  try {
    return decodeURIComponent(last)
  } catch {
    return last // a malformed escape: the API answers "not found" for it like for any unknown id
  }
}
