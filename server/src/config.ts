/**
 * The only module that reads the environment. Every setting is validated up front and every problem
 * is reported at once, so an operator fixes a bad deployment in one go rather than one error per start.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'

export const ROLES = ['api', 'worker', 'scheduler'] as const
export type Role = (typeof ROLES)[number]

export interface Config {
  /** null: boot the embedded Postgres under dataDir. */
  databaseUrl: string | null
  dataDir: string
  embeddedPgPort: number
  host: string
  port: number
  roles: ReadonlySet<Role>
  /** 32-byte key for credential encryption; null: generated once and kept in dataDir/secret.key. */
  secretKey: Buffer | null
  adminUsername: string
  adminPassword: string | null
  sessionTtlHours: number
  bossSchema: string
  workerConcurrency: number
  /** Connections this process may open to Postgres for its own queries (pg-boss and LISTEN add ~5). */
  dbPoolSize: number
  sshHandshakeConcurrency: number
  /** How often a worker proves it is alive, and after how long without that its runs are reaped. */
  heartbeatSeconds: number
  workerDeadAfterSeconds: number
  defaultTimezone: string
  artifactRetentionDays: number
  artifactMaxBytes: number
  /** Audit events older than this are deleted by the reaper; 0 keeps them forever. */
  auditRetentionDays: number
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** Sign-in throttling (modules/users/login-throttle.ts). */
  loginThrottle: { maxFailures: number; maxFailuresPerAddress: number; backoffSeconds: number; backoffMaxSeconds: number }
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean
}

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_ROOT = path.resolve(serverDir, '..')

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

const envSchema = z.object({
  DATABASE_URL: z.string().trim().min(1).optional(),
  SWITCHYARD_DATA_DIR: z.string().trim().min(1).optional(),
  SWITCHYARD_EMBEDDED_PG_PORT: int(1, 65535).default(54329),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(4000),
  SWITCHYARD_ROLES: z.string().optional(),
  SWITCHYARD_SECRET_KEY: z
    .string()
    .trim()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
    .optional(),
  SWITCHYARD_ADMIN_USERNAME: z.string().trim().min(1).default('admin'),
  SWITCHYARD_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  SWITCHYARD_SESSION_TTL_HOURS: int(1, 24 * 365).default(168),
  SWITCHYARD_BOSS_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,49}$/, 'lower-case identifier').default('pgboss'),
  SWITCHYARD_WORKER_CONCURRENCY: int(1, 1000).default(20),
  SWITCHYARD_DB_POOL_SIZE: int(2, 500).default(10),
  SWITCHYARD_SSH_HANDSHAKE_CONCURRENCY: int(1, 1000).default(16),
  SWITCHYARD_HEARTBEAT_SECONDS: z.coerce.number().min(0.1).max(60).default(5),
  SWITCHYARD_WORKER_DEAD_AFTER_SECONDS: z.coerce.number().min(0.5).max(600).default(15),
  SWITCHYARD_TIMEZONE: z
    .string()
    .default('UTC')
    .refine((tz) => isValidTimezone(tz), 'unknown IANA timezone'),
  SWITCHYARD_ARTIFACT_RETENTION_DAYS: int(1, 3650).default(30),
  SWITCHYARD_ARTIFACT_MAX_BYTES: int(1, 1024 * 1024 * 1024).default(50 * 1024 * 1024),
  SWITCHYARD_AUDIT_RETENTION_DAYS: int(0, 36500).default(365),
  SWITCHYARD_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SWITCHYARD_LOGIN_MAX_FAILURES: int(1, 1000).default(5),
  SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS: int(1, 100000).default(20),
  SWITCHYARD_LOGIN_BACKOFF_SECONDS: z.coerce.number().min(0.01).max(3600).default(1),
  SWITCHYARD_LOGIN_BACKOFF_MAX_SECONDS: z.coerce.number().min(0.01).max(86400).default(900),
  SWITCHYARD_TRUST_PROXY: z.enum(['true', 'false', '1', '0']).default('false'),
})

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** Parses `--role api,worker` / `--role=api` (repeatable) from argv; null when absent. */
export function parseRoleArgs(argv: readonly string[]): string | null {
  const values: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--role' || arg === '--roles') values.push(argv[++i] ?? '')
    else if (arg.startsWith('--role=') || arg.startsWith('--roles=')) values.push(arg.slice(arg.indexOf('=') + 1))
  }
  return values.length ? values.join(',') : null
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2)): Config {
  const problems: string[] = []
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`)
  }
  const rolesText = parseRoleArgs(argv) ?? env.SWITCHYARD_ROLES ?? ROLES.join(',')
  const roles = new Set<Role>()
  for (const r of rolesText.split(',').map((s) => s.trim()).filter(Boolean)) {
    if ((ROLES as readonly string[]).includes(r)) roles.add(r as Role)
    else problems.push(`--role / SWITCHYARD_ROLES: unknown role "${r}" (expected ${ROLES.join(', ')})`)
  }
  if (roles.size === 0) problems.push('--role / SWITCHYARD_ROLES: at least one role is required')
  if (parsed.success && parsed.data.SWITCHYARD_WORKER_DEAD_AFTER_SECONDS <= parsed.data.SWITCHYARD_HEARTBEAT_SECONDS * 2) {
    problems.push('SWITCHYARD_WORKER_DEAD_AFTER_SECONDS: must be more than twice SWITCHYARD_HEARTBEAT_SECONDS')
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems)
  const e = parsed.data
  return {
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: path.resolve(e.SWITCHYARD_DATA_DIR ?? path.join(REPO_ROOT, '.switchyard')),
    embeddedPgPort: e.SWITCHYARD_EMBEDDED_PG_PORT,
    host: e.HOST,
    port: e.PORT,
    roles,
    secretKey: e.SWITCHYARD_SECRET_KEY ? Buffer.from(e.SWITCHYARD_SECRET_KEY, 'base64') : null,
    adminUsername: e.SWITCHYARD_ADMIN_USERNAME,
    adminPassword: e.SWITCHYARD_ADMIN_PASSWORD ?? null,
    sessionTtlHours: e.SWITCHYARD_SESSION_TTL_HOURS,
    bossSchema: e.SWITCHYARD_BOSS_SCHEMA,
    workerConcurrency: e.SWITCHYARD_WORKER_CONCURRENCY,
    dbPoolSize: e.SWITCHYARD_DB_POOL_SIZE,
    sshHandshakeConcurrency: e.SWITCHYARD_SSH_HANDSHAKE_CONCURRENCY,
    heartbeatSeconds: e.SWITCHYARD_HEARTBEAT_SECONDS,
    workerDeadAfterSeconds: e.SWITCHYARD_WORKER_DEAD_AFTER_SECONDS,
    defaultTimezone: e.SWITCHYARD_TIMEZONE,
    artifactRetentionDays: e.SWITCHYARD_ARTIFACT_RETENTION_DAYS,
    artifactMaxBytes: e.SWITCHYARD_ARTIFACT_MAX_BYTES,
    auditRetentionDays: e.SWITCHYARD_AUDIT_RETENTION_DAYS,
    logLevel: e.SWITCHYARD_LOG_LEVEL,
    loginThrottle: {
      maxFailures: e.SWITCHYARD_LOGIN_MAX_FAILURES,
      maxFailuresPerAddress: e.SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS,
      backoffSeconds: e.SWITCHYARD_LOGIN_BACKOFF_SECONDS,
      backoffMaxSeconds: e.SWITCHYARD_LOGIN_BACKOFF_MAX_SECONDS,
    },
    trustProxy: e.SWITCHYARD_TRUST_PROXY === 'true' || e.SWITCHYARD_TRUST_PROXY === '1',
  }
}
