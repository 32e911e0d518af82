/**
 * Using a credential (naming it in a template's config or on a target) is a permission of its own, apart
 * from seeing it: everyone signed in sees every credential's name and kind, but only its owner, admins and
 * those granted use may use it — otherwise anyone could point a template or a target at a server they
 * control and receive the secret. The rule itself lives in db/credential-use.ts (SQL, also run by the
 * dispatcher); this is how services apply it.
 */
import type { PrismaClient } from '../../generated/prisma/client.ts'
import { credentialUse, prismaQuery, type CredentialUse } from '../../db/credential-use.ts'
import { ForbiddenError, type FieldProblem } from '../../errors.ts'
import type { Actor, UserRole } from '../actor.ts'

/** A credential named by an input field. */
export interface NamedCredential {
  field: string
  id: string
}

/** The credentials `userId` may or may not use, among those that exist (missing ids are absent). */
export function useOf(prisma: PrismaClient, userId: string | null, ids: readonly string[]): Promise<Map<string, CredentialUse>> {
  return credentialUse(prismaQuery(prisma), userId, ids)
}

/**
 * FORBIDDEN, naming each field, unless the user may use every existing credential named. Missing ones are
 * the caller's to report (as "no such credential", which the credential list already tells anyone).
 * `refusal` words the problem for a credential's name.
 */
export async function requireMayUse(
  prisma: PrismaClient,
  userId: string,
  named: readonly NamedCredential[],
  refusal: (credentialName: string) => string = (name) => `you may not use credential "${name}"`,
): Promise<void> {
  if (!named.length) return
  const use = await useOf(prisma, userId, named.map((n) => n.id))
  const problems: FieldProblem[] = []
  for (const n of named) {
    const c = use.get(n.id)
    if (c && !c.usable) problems.push({ field: n.field, message: refusal(c.name) })
  }
  if (problems.length) throw ForbiddenError.fields(problems)
}

/** For display (`Credential.canUse`): the same rule as db/credential-use.ts, on a loaded row. */
export function mayUse(actor: Actor, c: { ownerId: string; useGrants: ReadonlyArray<{ userId: string | null; role: UserRole | null }> }): boolean {
  return actor.role === 'ADMIN' || c.ownerId === actor.userId || c.useGrants.some((g) => g.userId === actor.userId || g.role === actor.role)
}

/** Who may see and change a credential's grants: its owner and admins. */
export function canManageUse(actor: Actor, c: { ownerId: string }): boolean {
  return actor.role === 'ADMIN' || c.ownerId === actor.userId
}
