/** Users, sign-in and API tokens. Tokens are stored hashed; the clear token is returned once. */
import type pg from 'pg'
import { z } from 'zod'
import type { PrismaClient } from '../../generated/prisma/client.ts'
import type { User } from '../../generated/prisma/client.ts'
import { hashPassword, verifyPassword } from '../../auth/passwords.ts'
import { hashToken, newToken } from '../../auth/tokens.ts'
import { ConflictError, ForbiddenError, NotFoundError, RateLimitedError, UnauthenticatedError, ValidationError, isUniqueViolation } from '../../errors.ts'
import { canManageApiTokensOf, requireActor, requireAdmin, type Actor, type UserRole } from '../actor.ts'
import { entity, record } from '../audit/audit.service.ts'
import { changed, created, secretsChanged } from '../audit/changes.ts'
import { CHANNELS } from '../../pubsub/channels.ts'
import { parseInput } from '../validation.ts'
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts'

const username = z.string().trim().min(1, 'required').max(64).regex(/^[a-zA-Z0-9._@-]+$/, 'letters, digits and . _ @ - only')
const password = z.string().min(8, 'must be at least 8 characters').max(1024)
const role = z.enum(['ADMIN', 'OPERATOR', 'VIEWER'])

const createUserInput = z.object({ username, password, role })
const updateUserInput = z.object({ password: password.optional(), role: role.optional(), disabled: z.boolean().optional() })
const tokenInput = z.object({
  name: z.string().trim().min(1, 'required').max(100),
  expiresInDays: z.number().int().min(1).max(3650).nullish(),
})

const DEFAULT_THROTTLE: LoginThrottleOptions = { maxFailures: 5, maxFailuresPerAddress: 20, backoffSeconds: 1, backoffMaxSeconds: 900 }

// Don't write last_used_at on every request: once a minute per token is plenty.
const LAST_USED_RESOLUTION_MS = 60_000

export class UsersService {
  readonly #throttle: LoginThrottle

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
    private readonly sessionTtlHours: number,
    throttle: LoginThrottleOptions = DEFAULT_THROTTLE,
  ) {
    this.#throttle = new LoginThrottle(prisma, throttle)
  }

  /** Forgets sign-in failures that can no longer lock anything (reaper housekeeping). */
  deleteStaleLoginThrottles(): Promise<number> {
    return this.#throttle.deleteStale()
  }

  /**
   * Returns the actor for a bearer token, or null when it is unknown, expired or revoked. Every request
   * and WebSocket connect comes through here, so it is one prepared statement on the pg pool (Prisma's
   * `include` sends two). Its failures are pg's own, which `isTransient` knows: a connect during an
   * outage must close with "try again" (1013), not as an internal error.
   */
  async authenticate(token: string): Promise<Actor | null> {
    const { rows } = await this.pool.query<{ id: string; kind: 'SESSION' | 'API'; last_used_at: Date | null; user_id: string; username: string; role: UserRole }>({
      name: 'switchyard-authenticate',
      text: `SELECT t.id, t.kind::text AS kind, t.last_used_at, u.id AS user_id, u.username, u.role::text AS role
               FROM api_token t JOIN app_user u ON u.id = t.user_id
              WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND NOT u.disabled AND (t.expires_at IS NULL OR t.expires_at > now())`,
      values: [hashToken(token)],
    })
    const row = rows[0]
    if (!row) return null
    const now = Date.now()
    if (!row.last_used_at || now - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } }).catch(() => {})
    }
    return { userId: row.user_id, username: row.username, role: row.role, via: row.kind }
  }

  /**
   * `address` is the client's (for per-address throttling; null when unknown). A locked username or
   * address is refused with RATE_LIMITED before the password is even checked.
   */
  async login(input: { username: string; password: string }, address: string | null = null): Promise<{ token: string; user: User; expiresAt: Date }> {
    // A NUL can be in no username (and Postgres text cannot even be compared with one): a failed login.
    const name = input.username.trim().replaceAll('\u0000', '\ufffd')
    const keys = LoginThrottle.keys(name, address)
    const lock = await this.#throttle.lockOf(keys)
    if (lock) {
      const lockedUser = await this.prisma.user.findUnique({ where: { username: name } })
      await record(this.prisma, {
        actor: null,
        via: 'SESSION',
        actorName: name,
        action: 'login.throttled',
        entity: lockedUser ? entity.user(lockedUser) : { type: 'User', id: null, name },
        changes: created({ lockedBy: lock.kind === 'user' ? 'username' : 'address', address, retryAfterSeconds: lock.retryAfterSeconds }, ['lockedBy', 'address', 'retryAfterSeconds']),
      })
      throw new RateLimitedError(
        `too many failed sign-ins ${lock.kind === 'user' ? 'for this user' : 'from this address'}: try again in ${lock.retryAfterSeconds} second${lock.retryAfterSeconds === 1 ? '' : 's'}`,
        lock.retryAfterSeconds,
      )
    }
    const user = input.username.includes('\u0000') ? null : await this.prisma.user.findUnique({ where: { username: name } })
    // Same message whether the user exists or not: no account enumeration. An unknown user still costs
    // one scrypt verification, so the response time does not tell the two apart either.
    const valid = await verifyPassword(input.password, user?.passwordHash ?? (await this.dummyHash()))
    if (!user || user.disabled || !valid) {
      // Nobody is signed in: the event names the username that was tried (and the user, if it exists).
      await record(this.prisma, {
        actor: null,
        via: 'SESSION',
        actorName: name,
        action: 'login.failed',
        entity: user ? entity.user(user) : { type: 'User', id: null, name },
      })
      await this.#throttle.recordFailure(keys)
      throw new UnauthenticatedError('invalid username or password')
    }
    await this.#throttle.recordSuccess(name)
    const t = newToken()
    const expiresAt = new Date(Date.now() + this.sessionTtlHours * 3600_000)
    const actor: Actor = { userId: user.id, username: user.username, role: user.role, via: 'SESSION' }
    await this.prisma.$transaction([
      this.prisma.apiToken.create({ data: { userId: user.id, kind: 'SESSION', name: 'session', tokenHash: t.hash, prefix: t.prefix, expiresAt } }),
      record(this.prisma, { actor, action: 'login.succeeded', entity: entity.user(user) }),
    ])
    return { token: t.token, user, expiresAt }
  }

  /**
   * Tells every API process (in the same transaction as the change) to re-check this user's open
   * WebSocket connections: a revoked token or a disabled user must stop receiving events at once.
   */
  private notifyAuthChanged(db: Pick<PrismaClient, '$executeRaw'>, userId: string) {
    return db.$executeRaw`SELECT pg_notify(${CHANNELS.auth}, ${userId})`
  }

  #dummyHash: Promise<string> | null = null
  private dummyHash(): Promise<string> {
    this.#dummyHash ??= hashPassword(randomPassword())
    return this.#dummyHash
  }

  /** Ends the session (or revokes the API token) the request came with. */
  async logout(actor: Actor | null, token: string | null): Promise<void> {
    const a = requireActor(actor)
    if (!token) return
    await this.prisma.$transaction([
      this.prisma.apiToken.updateMany({ where: { tokenHash: hashToken(token), revokedAt: null }, data: { revokedAt: new Date() } }),
      record(this.prisma, { actor: a, action: 'logout', entity: { type: 'User', id: a.userId, name: a.username } }),
      this.notifyAuthChanged(this.prisma, a.userId),
    ])
  }

  async me(actor: Actor | null): Promise<User> {
    const a = requireActor(actor)
    const user = await this.prisma.user.findUnique({ where: { id: a.userId } })
    if (!user) throw new UnauthenticatedError()
    return user
  }

  list(actor: Actor | null): Promise<User[]> {
    requireAdmin(actor)
    return this.prisma.user.findMany({ orderBy: { username: 'asc' } })
  }

  async create(actor: Actor | null, raw: unknown): Promise<User> {
    const a = requireAdmin(actor)
    const input = parseInput(createUserInput, raw)
    const passwordHash = await hashPassword(input.password)
    try {
      return await this.prisma.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { username: input.username, role: input.role, passwordHash } })
        await record(tx, { actor: a, action: 'user.create', entity: entity.user(user), changes: { ...created(user, ['username', 'role']), ...secretsChanged(['password']) } })
        return user
      })
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.username', `a user named "${input.username}" already exists`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<User> {
    const a = requireAdmin(actor)
    const input = parseInput(updateUserInput, raw)
    if (id === a.userId && (input.role && input.role !== 'ADMIN' || input.disabled)) {
      throw ValidationError.field(input.disabled ? 'input.disabled' : 'input.role', 'you cannot demote or disable yourself')
    }
    const existing = await this.prisma.user.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('user')
    const passwordHash = input.password ? await hashPassword(input.password) : undefined
    return this.prisma.$transaction(async (tx) => {
      const user = await tx.user.update({ where: { id }, data: { role: input.role, disabled: input.disabled, passwordHash } })
      // A disabled user or a new password ends every open session.
      if (input.disabled || input.password) {
        await tx.apiToken.updateMany({ where: { userId: id, kind: 'SESSION', revokedAt: null }, data: { revokedAt: new Date() } })
      }
      const changes = { ...changed(existing, user, ['role', 'disabled']), ...secretsChanged([input.password && 'password']) }
      await record(tx, { actor: a, action: 'user.update', entity: entity.user(user), changes })
      await this.notifyAuthChanged(tx, id)
      return user
    })
  }

  /**
   * A new password ends the user's other sessions (as an admin reset does): if the old password leaked,
   * whoever used it must not stay signed in. The session making the change (`keepToken`) stays valid.
   */
  async changeOwnPassword(actor: Actor | null, current: string, next: string, keepToken: string | null = null): Promise<void> {
    const a = requireActor(actor)
    const user = await this.prisma.user.findUniqueOrThrow({ where: { id: a.userId } })
    if (!(await verifyPassword(current, user.passwordHash))) throw ValidationError.field('currentPassword', 'is not your current password')
    const parsed = password.safeParse(next)
    if (!parsed.success) throw ValidationError.field('newPassword', parsed.error.issues[0]?.message ?? 'invalid')
    const passwordHash = await hashPassword(next)
    await this.prisma.$transaction([
      this.prisma.user.update({ where: { id: a.userId }, data: { passwordHash } }),
      this.prisma.apiToken.updateMany({
        where: { userId: a.userId, kind: 'SESSION', revokedAt: null, ...(keepToken ? { tokenHash: { not: hashToken(keepToken) } } : {}) },
        data: { revokedAt: new Date() },
      }),
      record(this.prisma, { actor: a, action: 'password.change', entity: entity.user(user), changes: secretsChanged(['password']) }),
      this.notifyAuthChanged(this.prisma, a.userId),
    ])
  }

  async createApiToken(actor: Actor | null, raw: unknown) {
    const a = requireActor(actor)
    const input = parseInput(tokenInput, raw)
    const t = newToken()
    const row = await this.prisma.$transaction(async (tx) => {
      const token = await tx.apiToken.create({
        data: {
          userId: a.userId,
          kind: 'API',
          name: input.name,
          tokenHash: t.hash,
          prefix: t.prefix,
          expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86400_000) : null,
        },
      })
      // Name and expiry only: the token, its hash and even its prefix stay out of the trail.
      await record(tx, { actor: a, action: 'token.create', entity: entity.of('ApiToken', token), changes: created(token, ['name', 'expiresAt']) })
      return token
    })
    return { token: t.token, apiToken: row }
  }

  /**
   * The API tokens (not sessions) of `userId`, newest first; without one, the caller's own. Anyone
   * else's are for admins only (FORBIDDEN otherwise; `User.apiTokens` checks first and answers null).
   * The rows carry the hash: the API exposes only the listing fields.
   */
  async listApiTokens(actor: Actor | null, userId?: string) {
    const a = requireActor(actor)
    const owner = userId ?? a.userId
    if (!canManageApiTokensOf(a, owner)) throw new ForbiddenError("only admins may see other users' API tokens")
    return this.prisma.apiToken.findMany({ where: { userId: owner, kind: 'API' }, orderBy: { createdAt: 'desc' } })
  }

  /**
   * Revokes an API token: your own, or (admins) anyone's. Someone else's token is NOT_FOUND for a
   * non-admin, exactly like a token that does not exist. When an admin revokes another user's token,
   * the audit event's entity name also names the owner (`ci (owner: bob)`), since the actor does not.
   */
  async revokeApiToken(actor: Actor | null, id: string) {
    const a = requireActor(actor)
    const row = await this.prisma.apiToken.findUnique({ where: { id }, include: { user: { select: { username: true } } } })
    if (!row || !canManageApiTokensOf(a, row.userId)) throw new NotFoundError('API token')
    const { user: owner, ...before } = row
    if (before.revokedAt) return before // already revoked: nothing changes, nothing to record
    return this.prisma.$transaction(async (tx) => {
      const revoked = await tx.apiToken.update({ where: { id }, data: { revokedAt: new Date() } })
      const name = revoked.userId === a.userId ? revoked.name : `${revoked.name} (owner: ${owner.username})`
      await record(tx, { actor: a, action: 'token.revoke', entity: entity.of('ApiToken', { id: revoked.id, name }), changes: changed(before, revoked, ['revokedAt']) })
      await this.notifyAuthChanged(tx, revoked.userId)
      return revoked
    })
  }

  /**
   * First start: when there is no user at all, create the admin (password from config, or a random
   * one that is returned so the caller can print it once).
   */
  async ensureInitialAdmin(usernameValue: string, configuredPassword: string | null): Promise<{ created: boolean; password?: string }> {
    if ((await this.prisma.user.count()) > 0) return { created: false }
    const pw = configuredPassword ?? randomPassword()
    const passwordHash = await hashPassword(pw)
    try {
      await this.prisma.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { username: usernameValue, role: 'ADMIN', passwordHash } })
        await record(tx, { actor: null, via: 'SYSTEM', action: 'user.create', entity: entity.user(user), changes: { ...created(user, ['username', 'role']), ...secretsChanged(['password']) } })
      })
    } catch (e) {
      if (isUniqueViolation(e)) return { created: false } // another process won the race
      throw e
    }
    return { created: true, password: configuredPassword ? undefined : pw }
  }
}

function randomPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  const bytes = crypto.getRandomValues(new Uint8Array(20))
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')
}

export type { UserRole }
