/**
 * Maps a request path onto a file of the web UI's static export (client/out, see client/next.config.mjs)
 * without ever leaving that directory.
 *
 * Each path segment is decoded once and must be a plain name: no '.', '..', slashes, backslashes or
 * NULs (raw or %-encoded), so neither `/../x`, `/%2e%2e/x`, `/..%2fx` nor `/x%00.html` can name
 * anything outside the export. Names resolve the way the export was written: `/runs` is runs.html,
 * `/runs.txt` the page's React Server Components payload, `/` index.html. Detail routes are exported
 * for one placeholder id (client/src/lib/route-id.ts): where a segment names nothing but its directory
 * holds the placeholder, the placeholder stands in for it, so /runs/<any id> is runs/_.html, its
 * payload /runs/<id>.txt is runs/_.txt and its per-segment payloads /runs/<id>/__next.….txt are in runs/_/.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'

/** The id the detail routes are exported for; the same value as client/src/lib/route-id.ts. */
export const PLACEHOLDER_ID = '_'

export type UiFile = { kind: 'file'; file: string; size: number; mtimeMs: number } | { kind: 'missing' } | { kind: 'bad' }

const MAX_PATH = 2048

export async function resolveUiFile(root: string, rawPath: string): Promise<UiFile> {
  const segments = parsePath(rawPath)
  if (!segments) return { kind: 'bad' }
  let dir = root
  for (const segment of segments.slice(0, -1)) {
    if (await isDirectory(path.join(dir, segment))) dir = path.join(dir, segment)
    else if (await isDirectory(path.join(dir, PLACEHOLDER_ID))) dir = path.join(dir, PLACEHOLDER_ID)
    else return { kind: 'missing' }
  }
  const name = segments.at(-1) ?? ''
  const candidates =
    name === ''
      ? ['index.html']
      : [name, `${name}.html`, name.endsWith('.txt') ? `${PLACEHOLDER_ID}.txt` : `${PLACEHOLDER_ID}.html`]
  for (const candidate of candidates) {
    const file = path.join(dir, candidate)
    // Belt and braces: the segment checks already keep every candidate inside root.
    if (!file.startsWith(root + path.sep)) return { kind: 'bad' }
    const st = await stat(file).catch(() => null)
    if (st?.isFile()) return { kind: 'file', file, size: st.size, mtimeMs: st.mtimeMs }
  }
  return { kind: 'missing' }
}

/**
 * The decoded segments of a request path ('/' gives ['']; a trailing slash is ignored), or null when
 * the path is malformed or hostile.
 */
export function parsePath(rawPath: string): string[] | null {
  const pathname = rawPath.split(/[?#]/, 1)[0] ?? ''
  if (!pathname.startsWith('/') || pathname.length > MAX_PATH) return null
  const raw = pathname === '/' ? [''] : pathname.slice(1).replace(/\/$/, '').split('/')
  const segments: string[] = []
  for (const part of raw) {
    let segment: string
    try {
      segment = decodeURIComponent(part)
    } catch {
      return null // a malformed %-escape
    }
    if (segment === '' && raw.length > 1) return null // `//`
    if (segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return null
    segments.push(segment)
  }
  return segments
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false
}
