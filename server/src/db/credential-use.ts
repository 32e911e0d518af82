/**
 * Who may use a stored credential — name it in a job template's config or on a target, and so have a run
 * open it. The one rule, in SQL, shared by the services (checked when a template or target is saved) and
 * the dispatcher (checked again right before a run opens the secret, for the template's owner):
 *
 *   an enabled user may use a credential if they are an admin, own it, or were granted use
 *   (credential_use_grant) by name or through their role.
 *
 * The role is read from app_user, not from a session, so a demotion or a revoked grant takes effect for
 * the next save or run. modules/credentials/credential-access.ts mirrors it for display (`canUse`).
 */

export interface CredentialUse {
  id: string
  name: string
  kind: 'PASSWORD' | 'PRIVATE_KEY'
  usable: boolean
}

/** Runs one parameterised statement: `pool.query` and Prisma's `$queryRawUnsafe` both fit (see below). */
export type RawQuery = (text: string, values: unknown[]) => Promise<unknown[]>

const SQL = `
  SELECT c.id, c.name, c.kind,
         COALESCE(u.role = 'ADMIN' OR c.owner_id = u.id
                  OR EXISTS (SELECT 1 FROM credential_use_grant g
                              WHERE g.credential_id = c.id AND (g.user_id = u.id OR g.role = u.role)), false) AS usable
    FROM credential c
    LEFT JOIN app_user u ON u.id = $1::uuid AND NOT u.disabled
   WHERE c.id = ANY($2::uuid[])`

/**
 * The existing credentials among `ids`, each with whether `userId` may use it. Ids that name no credential
 * are absent (the caller says "no such credential"). A null user (a run whose owner is gone) may use none.
 */
export async function credentialUse(query: RawQuery, userId: string | null, ids: readonly string[]): Promise<Map<string, CredentialUse>> {
  if (!ids.length) return new Map()
  const rows = (await query(SQL, [userId, [...new Set(ids)]])) as CredentialUse[]
  return new Map(rows.map((r) => [r.id, r]))
}

export const poolQuery =
  (pool: { query(text: string, values: unknown[]): Promise<{ rows: unknown[] }> }): RawQuery =>
  async (text, values) =>
    (await pool.query(text, values)).rows

export const prismaQuery =
  (prisma: { $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> }): RawQuery =>
  (text, values) =>
    prisma.$queryRawUnsafe<unknown[]>(text, ...values)
