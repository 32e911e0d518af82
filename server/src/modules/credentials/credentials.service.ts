/**
 * Credentials: for targets (SSH) and for job configs that name one (a Git remote, an HTTP API). The secret
 * (password or private key, and the key's passphrase) is encrypted with the configured key and is
 * write-only: nothing here returns it (workers open it with crypto/credential-secret.ts).
 */
import { lazyModule } from '../../util/lazy-module.ts'
import { z } from 'zod'
import type { Credential, CredentialUseGrant, Prisma, PrismaClient, User } from '../../generated/prisma/client.ts'
import type { SecretBox } from '../../crypto/secret-box.ts'
import type { ExecutorRegistry } from '../../jobs/executors/registry.ts'
import { ConflictError, ForbiddenError, InvalidStateError, NotFoundError, ValidationError, isUniqueViolation } from '../../errors.ts'
import { requireActor, requireCanEdit, requireWriter, type Actor, type UserRole } from '../actor.ts'
import { canManageUse } from './credential-access.ts'
import { audited, entity } from '../audit/audit.service.ts'
import { changed, created, secretsChanged } from '../audit/changes.ts'
import { parseInput, parsePatch, rejectNul } from '../validation.ts'

const name = z.string().trim().min(1, 'required').max(100)
const createInput = z.object({
  name,
  description: z.string().max(2000).default(''),
  kind: z.enum(['PASSWORD', 'PRIVATE_KEY']),
  username: z.string().trim().min(1, 'required').max(255),
  password: z.string().min(1, 'required').max(4096).optional(),
  privateKey: z.string().min(1, 'required').max(65536).optional(),
  passphrase: z.string().max(4096).optional(),
})

/** Who a use grant is for: exactly one of these. */
export interface Grantee {
  userId?: string | null
  username?: string | null
  role?: UserRole | null
}

/** What the audit trail shows of a credential; the secrets only by name, as "changed". */
const AUDITED_FIELDS = ['name', 'description', 'kind', 'username']

export class CredentialsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly registry: ExecutorRegistry,
  ) {}

  async list(actor: Actor | null, query: Omit<Prisma.CredentialFindManyArgs, 'where' | 'orderBy'> = {}): Promise<Credential[]> {
    requireActor(actor)
    return this.prisma.credential.findMany({ ...query, orderBy: { name: 'asc' } })
  }

  async get(actor: Actor | null, id: string): Promise<Credential> {
    requireActor(actor)
    const row = await this.prisma.credential.findUnique({ where: { id } })
    if (!row) throw new NotFoundError('credential')
    return row
  }

  async create(actor: Actor | null, raw: unknown): Promise<Credential> {
    const a = requireWriter(actor)
    const input = parseInput(createInput, raw)
    const sealed = this.sealSecrets(input.kind, input)
    const secrets = secretsChanged([input.password && 'password', input.privateKey && 'privateKey', input.passphrase && 'passphrase'])
    try {
      return await audited(
        this.prisma,
        (tx) => tx.credential.create({ data: { name: input.name, description: input.description, kind: input.kind, username: input.username, ownerId: a.userId, ...sealed } }),
        (row) => ({ actor: a, action: 'credential.create', entity: entity.of('Credential', row), changes: { ...created(row, AUDITED_FIELDS), ...secrets } }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `a credential named "${input.name}" already exists`)
      throw e
    }
  }

  async update(actor: Actor | null, id: string, raw: unknown): Promise<Credential> {
    requireWriter(actor)
    const input = parsePatch(createInput, raw) // only the given fields: omitted ones keep their value
    const existing = await this.prisma.credential.findUnique({ where: { id } })
    if (!existing) throw new NotFoundError('credential')
    const a = requireCanEdit(actor, existing, 'credential')
    const kind = input.kind ?? existing.kind
    // Secrets are replaced only when given; switching kind requires the new kind's secret.
    const givesSecret = input.password !== undefined || input.privateKey !== undefined
    if (kind !== existing.kind && !givesSecret) {
      throw ValidationError.field(kind === 'PASSWORD' ? 'input.password' : 'input.privateKey', 'required when changing the credential kind')
    }
    const sealed = givesSecret ? this.sealSecrets(kind, input) : input.passphrase !== undefined ? this.resealPassphrase(existing, input.passphrase) : {}
    // A new secret also drops the old key's passphrase (sealSecrets), which is a passphrase change too.
    const secrets = secretsChanged([
      input.password !== undefined && 'password',
      input.privateKey !== undefined && 'privateKey',
      (input.passphrase !== undefined || (givesSecret && existing.passphrase !== null)) && 'passphrase',
    ])
    try {
      return await audited(
        this.prisma,
        (tx) => tx.credential.update({ where: { id }, data: { name: input.name, description: input.description, kind, username: input.username, ...sealed } }),
        (row) => ({ actor: a, action: 'credential.update', entity: entity.of('Credential', row), changes: { ...changed(existing, row, AUDITED_FIELDS), ...secrets } }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('input.name', `a credential named "${input.name}" already exists`)
      throw e
    }
  }

  async delete(actor: Actor | null, id: string): Promise<Credential> {
    requireWriter(actor)
    const existing = await this.prisma.credential.findUnique({ where: { id }, include: { _count: { select: { targets: true } } } })
    if (!existing) throw new NotFoundError('credential')
    const a = requireCanEdit(actor, existing, 'credential')
    if (existing._count.targets > 0) throw new InvalidStateError(`credential "${existing.name}" is used by ${existing._count.targets} ${existing._count.targets === 1 ? 'target' : 'targets'}; reassign ${existing._count.targets === 1 ? 'it' : 'them'} first`)
    const sources = await this.prisma.inventorySource.findMany({ where: { tokenCredentialId: id }, select: { name: true }, orderBy: { name: 'asc' } })
    if (sources.length > 0) {
      throw new InvalidStateError(`credential "${existing.name}" is the API token of the inventory ${sources.length === 1 ? 'source' : 'sources'} ${sources.map((s) => `"${s.name}"`).join(', ')}; change ${sources.length === 1 ? 'it' : 'them'} first`)
    }
    const channels = await this.prisma.notificationChannel.findMany({
      where: { OR: [{ secretCredentialId: id }, { secondarySecretCredentialId: id }, { smtpCredentialId: id }] },
      select: { name: true, smtpCredentialId: true },
      orderBy: { name: 'asc' },
    })
    if (channels.length > 0) {
      const smtp = channels.filter((c) => c.smtpCredentialId === id).length
      const role = smtp === channels.length ? 'SMTP login' : smtp === 0 ? 'signing secret' : 'signing secret or SMTP login'
      throw new InvalidStateError(`credential "${existing.name}" is the ${role} of the notification ${channels.length === 1 ? 'channel' : 'channels'} ${channels.map((c) => `"${c.name}"`).join(', ')}; change ${channels.length === 1 ? 'it' : 'them'} first`)
    }
    const trackers = await this.prisma.ticketTracker.findMany({ where: { credentialId: id }, select: { name: true }, orderBy: { name: 'asc' } })
    if (trackers.length > 0) {
      throw new InvalidStateError(`credential "${existing.name}" is the API key or secret of the ticket ${trackers.length === 1 ? 'tracker' : 'trackers'} ${trackers.map((t) => `"${t.name}"`).join(', ')}; change ${trackers.length === 1 ? 'it' : 'them'} first`)
    }
    const hooks = await this.prisma.webhookEndpoint.findMany({ where: { secretCredentialId: id }, select: { name: true }, orderBy: { name: 'asc' } })
    if (hooks.length > 0) {
      throw new InvalidStateError(`credential "${existing.name}" is the signing secret of the webhook ${hooks.length === 1 ? 'endpoint' : 'endpoints'} ${hooks.map((h) => `"${h.name}"`).join(', ')}; change ${hooks.length === 1 ? 'it' : 'them'} first`)
    }
    const templates = await this.templatesReferring(id)
    if (templates.length > 0) {
      const names = templates.slice(0, 5).map((t) => `"${t}"`).join(', ')
      throw new InvalidStateError(`credential "${existing.name}" is used by ${templates.length === 1 ? 'the job template' : 'the job templates'} ${names}${templates.length > 5 ? ` and ${templates.length - 5} more` : ''}; change ${templates.length === 1 ? 'it' : 'them'} first`)
    }
    return audited(
      this.prisma,
      (tx) => tx.credential.delete({ where: { id } }),
      (row) => ({ actor: a, action: 'credential.delete', entity: entity.of('Credential', row) }),
    )
  }

  /** Who besides its owner and admins may use the credential; for its owner and admins, else null. */
  async useGrants(actor: Actor | null, credential: Pick<Credential, 'id' | 'ownerId'>): Promise<Array<CredentialUseGrant & { user: User | null }> | null> {
    const a = requireActor(actor)
    if (!canManageUse(a, credential)) return null
    return this.prisma.credentialUseGrant.findMany({ where: { credentialId: credential.id }, include: { user: true }, orderBy: [{ role: 'asc' }, { createdAt: 'asc' }] })
  }

  /**
   * Lets a user, or every user of a role, use the credential (name it in templates and targets; never
   * read it). Its owner and admins decide. Granting what is already granted changes nothing.
   */
  async grantUse(actor: Actor | null, id: string, grantee: Grantee): Promise<Credential> {
    const { a, credential } = await this.forGrants(actor, id)
    const to = await this.grantee(grantee)
    if (to.role === 'ADMIN') throw ValidationError.field('role', 'admins may use every credential already')
    const exists = await this.prisma.credentialUseGrant.findFirst({ where: { credentialId: id, userId: to.user?.id ?? null, role: to.role } })
    if (exists) return credential
    try {
      return await audited(
        this.prisma,
        async (tx) => {
          await tx.credentialUseGrant.create({ data: { credentialId: id, userId: to.user?.id ?? null, role: to.role } })
          return credential
        },
        (row) => ({ actor: a, action: 'credential.grant-use', entity: entity.of('Credential', row), changes: { grantee: { new: to.label } } }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) return credential // granted meanwhile by someone else: the same outcome
      throw e
    }
  }

  /** Takes a grant back: the next save or run of a template that names the credential by that grant fails. */
  async revokeUse(actor: Actor | null, id: string, grantee: Grantee): Promise<Credential> {
    const { a, credential } = await this.forGrants(actor, id)
    const to = await this.grantee(grantee)
    return audited(
      this.prisma,
      async (tx) => {
        const { count } = await tx.credentialUseGrant.deleteMany({ where: { credentialId: id, userId: to.user?.id ?? null, role: to.role } })
        if (!count) throw new NotFoundError('grant', to.field)
        return credential
      },
      (row) => ({ actor: a, action: 'credential.revoke-use', entity: entity.of('Credential', row), changes: { grantee: { old: to.label } } }),
    )
  }

  private async forGrants(actor: Actor | null, id: string): Promise<{ a: Actor; credential: Credential }> {
    const a = requireWriter(actor)
    const credential = await this.prisma.credential.findUnique({ where: { id } })
    if (!credential) throw new NotFoundError('credential', 'credentialId')
    if (!canManageUse(a, credential)) throw new ForbiddenError('only the owner or an admin may grant or revoke use of this credential')
    return { a, credential }
  }

  private async grantee(g: Grantee): Promise<{ user: User | null; role: UserRole | null; label: string; field: string }> {
    rejectNul(g)
    const given = (['userId', 'username', 'role'] as const).filter((k) => g[k] != null)
    if (given.length !== 1) throw ValidationError.field(given[1] ?? 'userId', 'give exactly one of userId, username or role')
    if (g.role) return { user: null, role: g.role, label: `role ${g.role}`, field: 'role' }
    const field = given[0]!
    const user = await this.prisma.user.findUnique({ where: g.userId ? { id: g.userId } : { username: g.username! } })
    if (!user) throw new NotFoundError('user', field)
    return { user, role: null, label: `user ${user.username}`, field }
  }

  /**
   * Templates whose config names this credential. The text search only narrows the candidates (the id
   * appears as a UUID or as its global id); each job type's own credentialRefs decides.
   */
  private async templatesReferring(id: string): Promise<string[]> {
    const globalId = Buffer.from(`Credential:${id}`).toString('base64')
    const candidates = await this.prisma.$queryRaw<Array<{ name: string; job_type: string; config: unknown }>>`
      SELECT name, job_type, config FROM job_template
       WHERE strpos(lower(config::text), ${id.toLowerCase()}) > 0 OR strpos(config::text, ${globalId}) > 0
       ORDER BY name`
    return candidates
      .filter((t) => {
        const executor = this.registry.get(t.job_type)
        const parsed = executor?.configSchema.safeParse(t.config)
        return parsed?.success && (executor!.credentialRefs?.(parsed.data) ?? []).some((r) => r.id === id)
      })
      .map((t) => t.name)
  }

  private sealSecrets(kind: 'PASSWORD' | 'PRIVATE_KEY', input: { password?: string; privateKey?: string; passphrase?: string }) {
    if (kind === 'PASSWORD') {
      if (!input.password) throw ValidationError.field('input.password', 'required for a PASSWORD credential')
      if (input.privateKey) throw ValidationError.field('input.privateKey', 'not allowed for a PASSWORD credential')
      return { secret: this.box.seal(input.password), passphrase: null }
    }
    if (!input.privateKey) throw ValidationError.field('input.privateKey', 'required for a PRIVATE_KEY credential')
    if (input.password) throw ValidationError.field('input.password', 'not allowed for a PRIVATE_KEY credential (use passphrase for an encrypted key)')
    checkPrivateKey(input.privateKey, input.passphrase)
    return { secret: this.box.seal(input.privateKey), passphrase: input.passphrase ? this.box.seal(input.passphrase) : null }
  }

  private resealPassphrase(existing: Credential, passphrase: string) {
    if (existing.kind !== 'PRIVATE_KEY') throw ValidationError.field('input.passphrase', 'only a PRIVATE_KEY credential has a passphrase')
    checkPrivateKey(this.box.open(existing.secret), passphrase)
    return { passphrase: passphrase ? this.box.seal(passphrase) : null }
  }
}

/** Rejects keys ssh2 cannot use now rather than at 3 a.m. during a run. Messages never echo the key. */
const ssh2 = lazyModule<typeof import('ssh2')>('ssh2')

function checkPrivateKey(key: string, passphrase: string | undefined): void {
  const parsed = ssh2().utils.parseKey(key, passphrase)
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase|decrypt/i.test(parsed.message)
    throw ValidationError.field(
      encrypted ? 'input.passphrase' : 'input.privateKey',
      encrypted ? (passphrase ? 'wrong passphrase for this private key' : 'the private key is encrypted: a passphrase is required') : 'not a private key in a supported format (OpenSSH, PEM/PKCS#1, PKCS#8, PPK)',
    )
  }
  const k = Array.isArray(parsed) ? parsed[0] : parsed
  if (!k || !k.isPrivateKey()) throw ValidationError.field('input.privateKey', 'this is a public key; paste the private key')
}
