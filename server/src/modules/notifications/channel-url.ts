/**
 * How a channel's URL is kept and shown. A Slack/Teams/Mattermost incoming-webhook URL carries the
 * service's token — whoever has it can post to the channel — so it is write-only: sealed with the
 * credential key (as a credential's secret), never returned, never audited; the API shows its host.
 * A plain WEBHOOK URL is the receiver's address and stays readable (requests are signed with a secret of
 * their own), but query strings often carry tokens (`?token=…`, `?key=…`): the API and the audit trail
 * show their values masked.
 */
import type pg from 'pg'
import type { SecretBox } from '../../crypto/secret-box.ts'

export const CHAT_KINDS: ReadonlySet<string> = new Set(['SLACK', 'TEAMS', 'MATTERMOST'])
export const MASK = '•••'

/** The columns a channel's URL is stored in, for its kind. */
export interface StoredUrl {
  url: string | null
  urlSealed: Uint8Array<ArrayBuffer> | null
  urlHost: string | null
}

export function storedUrl(box: SecretBox, kind: string, url: string | null): StoredUrl {
  if (!url || kind === 'EMAIL') return { url: null, urlSealed: null, urlHost: null }
  const urlHost = hostOf(url)
  return CHAT_KINDS.has(kind) ? { url: null, urlSealed: box.seal(url), urlHost } : { url, urlSealed: null, urlHost }
}

/** The URL in clear (for sending, and for checks when an update keeps it). */
export function openUrl(box: SecretBox, row: { url: string | null; urlSealed: Uint8Array | null }): string | null {
  return row.urlSealed ? box.open(row.urlSealed) : row.url
}

export function hostOf(url: string): string | null {
  try {
    return new URL(url).host || null
  } catch {
    return null
  }
}

/** `https://h/x?token=abc&v=1` → `https://h/x?token=•••&v=•••` (names kept, values masked; a fragment too). */
export function maskQuery(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return url
  }
  if (!u.search && !u.hash) return url
  const q = u.search
    ? `?${u.search
        .slice(1)
        .split('&')
        .map((pair) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=${MASK}` : MASK))
        .join('&')}`
    : ''
  return `${u.origin}${u.pathname}${q}${u.hash ? `#${MASK}` : ''}`
}

/** What the API shows of a channel's URL: a WEBHOOK's with its query masked; a chat URL never. */
export function shownUrl(row: { kind: string; url: string | null }): string | null {
  if (CHAT_KINDS.has(row.kind) || !row.url) return null
  return maskQuery(row.url)
}

/**
 * Seals chat URLs still stored in clear (rows from before the 20261206050000 migration, or written by
 * hand) and clears the plain column. Idempotent and safe with several processes starting at once (each
 * row changes only while it still holds the URL that was sealed). Returns how many it sealed.
 */
export async function sealPlainChatUrls(pool: pg.Pool, box: SecretBox): Promise<number> {
  const { rows } = await pool.query<{ id: string; url: string }>(
    `SELECT id, url FROM notification_channel WHERE kind::text = ANY($1::text[]) AND url IS NOT NULL`,
    [[...CHAT_KINDS]],
  )
  let sealed = 0
  for (const r of rows) {
    const res = await pool.query(
      `UPDATE notification_channel SET url_sealed = $3, url_host = $4, url = NULL WHERE id = $1 AND url = $2`,
      [r.id, r.url, Buffer.from(box.seal(r.url)), hostOf(r.url)],
    )
    sealed += res.rowCount ?? 0
  }
  return sealed
}
