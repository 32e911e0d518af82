/** Helpers for the account (password, API tokens) and users pages (users, their API tokens): roles, token states, form checks. */
import type { Role } from './session'

export type { Role }

export const ROLES: ReadonlyArray<{ value: Role; label: string; description: string }> = [
  { value: 'VIEWER', label: 'Viewer', description: 'sees everything, changes nothing' },
  { value: 'OPERATOR', label: 'Operator', description: 'runs jobs and manages templates, schedules, targets and credentials' },
  { value: 'ADMIN', label: 'Admin', description: 'everything an operator does, and manages users' },
]

/** `ADMIN` → `Admin` (an unknown role is shown the same way). */
export function roleLabel(role: string): string {
  return ROLES.find((r) => r.value === role)?.label ?? role.charAt(0) + role.slice(1).toLowerCase()
}

/** The badge colour of a role (see .badge in globals.css). */
export function roleBadgeClass(role: string): string {
  return role === 'ADMIN' ? 'accent' : role === 'OPERATOR' ? 'info' : ''
}

export function roleDescription(role: string): string {
  return ROLES.find((r) => r.value === role)?.description ?? ''
}

export type TokenStatus = 'active' | 'expired' | 'revoked'

/** Revoked wins over expired: a revoked token stays revoked whatever its expiry. */
export function tokenStatus(token: { revokedAt?: string | null; expiresAt?: string | null }, now = Date.now()): TokenStatus {
  if (token.revokedAt) return 'revoked'
  if (token.expiresAt && new Date(token.expiresAt).getTime() <= now) return 'expired'
  return 'active'
}

/** Active tokens first (newest first within each group, as the API lists them), then expired, then revoked. */
export function sortTokens<T extends { revokedAt?: string | null; expiresAt?: string | null }>(tokens: readonly T[], now = Date.now()): T[] {
  const rank: Record<TokenStatus, number> = { active: 0, expired: 1, revoked: 2 }
  return tokens
    .map((t, i) => ({ t, i, r: rank[tokenStatus(t, now)] }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.t)
}

/** A user's API tokens in a few words, for the users table: `2 active`, `None active` (all expired or revoked), `None`. */
export function tokenSummary(tokens: ReadonlyArray<{ revokedAt?: string | null; expiresAt?: string | null }>, now = Date.now()): string {
  if (!tokens.length) return 'None'
  const active = tokens.filter((t) => tokenStatus(t, now) === 'active').length
  return active ? `${active} active` : 'None active'
}

const INT_MAX = 2 ** 31 - 1

/**
 * The "expires in days" field: empty means the token never expires. Only the shape is checked here
 * (the API's `expiresInDays` is an Int); the allowed range is the API's to say, under the field.
 */
export function parseExpiryDays(text: string): { value: number | null; error?: undefined } | { value?: undefined; error: string } {
  const s = text.trim()
  if (!s) return { value: null }
  if (!/^-?\d+$/.test(s)) return { error: 'must be a whole number of days' }
  const n = Number(s)
  if (Math.abs(n) > INT_MAX) return { error: 'is far too large' }
  return { value: n }
}

/**
 * Checks the change-password form can be sent: the API checks the current password and the new
 * password's rules itself; only "the two new passwords match" is the form's own business.
 */
export function passwordFormErrors(form: { currentPassword: string; newPassword: string; confirmPassword: string }): Record<string, string> {
  const errors: Record<string, string> = {}
  if (!form.currentPassword) errors.currentPassword = 'required'
  if (!form.newPassword) errors.newPassword = 'required'
  if (form.newPassword && form.confirmPassword !== form.newPassword) errors.confirmPassword = 'does not match the new password'
  return errors
}

/** What an edit of a user sends: only what changed (no role when it is unchanged, no empty password). */
export function userPatch(user: { role: Role }, draft: { role: Role; password: string }): { role?: Role; password?: string } {
  const patch: { role?: Role; password?: string } = {}
  if (draft.role !== user.role) patch.role = draft.role
  if (draft.password) patch.password = draft.password
  return patch
}

/**
 * What the users table offers for a row. The API refuses to let admins demote or disable themselves
 * (and the UI does not offer it); your own password and API tokens are on the account page.
 */
export function userActions(user: { id: string; disabled: boolean }, meId: string): { tokens: boolean; edit: boolean; disable: boolean; enable: boolean } {
  if (user.id === meId) return { tokens: false, edit: false, disable: false, enable: false }
  return { tokens: true, edit: true, disable: !user.disabled, enable: user.disabled }
}
