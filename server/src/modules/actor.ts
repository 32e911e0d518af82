/**
 * Who is asking, and the authorisation rules every service applies. Kept out of the GraphQL layer so
 * the same rules hold for any entry point (CLI, scheduler, other transports).
 */
import { ForbiddenError, UnauthenticatedError } from '../errors.ts'

export type UserRole = 'ADMIN' | 'OPERATOR' | 'VIEWER'
export type Visibility = 'GLOBAL' | 'PRIVATE'

export interface Actor {
  userId: string
  username: string
  role: UserRole
  /** How the request authenticated: a UI session, an API token, or Switchyard itself (scheduler). */
  via?: 'SESSION' | 'API' | 'SYSTEM'
}

export function requireActor(actor: Actor | null): Actor {
  if (!actor) throw new UnauthenticatedError()
  return actor
}

/** Operators and admins change things; viewers only look. */
export function requireWriter(actor: Actor | null): Actor {
  const a = requireActor(actor)
  if (a.role === 'VIEWER') throw new ForbiddenError('viewers have read-only access')
  return a
}

export function requireAdmin(actor: Actor | null): Actor {
  const a = requireActor(actor)
  if (a.role !== 'ADMIN') throw new ForbiddenError('only admins may do this')
  return a
}

/**
 * Your own API tokens are yours to see (and revoke); anyone's are an admin's, so a leaked token can be
 * found and revoked without disabling its user.
 */
export function canManageApiTokensOf(actor: Actor, userId: string): boolean {
  return actor.userId === userId || actor.role === 'ADMIN'
}

/**
 * Prisma `where` fragment: what this actor may see of owned, visibility-scoped rows (templates,
 * schedules, runs). Admins see everything, as in the system Switchyard replaces: PRIVATE keeps a row
 * out of other operators' and viewers' way, not out of the administrators'.
 */
export function visibleTo(actor: Actor): { OR: Array<{ visibility: 'GLOBAL' } | { ownerId: string }> } | Record<string, never> {
  if (actor.role === 'ADMIN') return {}
  return { OR: [{ visibility: 'GLOBAL' }, { ownerId: actor.userId }] }
}

export function canSee(actor: Actor, row: { visibility: Visibility; ownerId: string | null }): boolean {
  return actor.role === 'ADMIN' || row.visibility === 'GLOBAL' || row.ownerId === actor.userId
}

/**
 * Whether a child row (a schedule) may be as visible as it is given the row it exposes (its template):
 * everyone who can see the child must be able to see the parent. A GLOBAL child of a PRIVATE parent
 * would show the parent's config to everyone through the nested field.
 */
export function exposesNoMoreThan(child: { visibility: Visibility }, parent: { visibility: Visibility }): boolean {
  return parent.visibility === 'GLOBAL' || child.visibility === 'PRIVATE'
}

/**
 * Owners and admins change a row (a template, schedule, credential, target, inventory); other operators
 * and viewers do not. A row without an owner (from before owners existed) is admin-managed.
 */
export function requireCanEdit(actor: Actor | null, row: { ownerId: string | null }, what: string): Actor {
  const a = requireWriter(actor)
  if (row.ownerId !== a.userId && a.role !== 'ADMIN') throw new ForbiddenError(`only the owner or an admin may change this ${what}`)
  return a
}

export function requireCanSetVisibility(actor: Actor, visibility: Visibility): void {
  if (visibility === 'GLOBAL' && actor.role === 'VIEWER') throw new ForbiddenError('making something GLOBAL needs the operator or admin role')
}
