/**
 * The only module that reads the environment. Every setting is validated up front and every problem
 * is reported at once, so an operator fixes a bad deployment in one go rather than one error per start.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { DEFAULT_DENY_CIDRS, parseCidrList } from './net/outbound-policy.ts'
import type { RunAsUser } from './sandbox/process-sandbox.ts'

export const ROLES = ['api', 'worker', 'scheduler'] as const
export type Role = (typeof ROLES)[number]

export interface NotificationRetry {
  baseMs: number
  maxMs: number
  giveUpMs: number
  /** DELIVERED and FAILED deliveries are deleted this many days after their run ended; 0 keeps them. */
  logRetentionDays: number
}

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
  /** Run retention (modules/runs/run-retention.ts); 0 days keeps those runs forever. */
  runRetention: { days: number; failedDays: number; keepLast: number }
  /** Webhook delivery retries (modules/notifications/webhook-delivery.ts): backoff base/cap, and when to give up. */
  notificationRetry: NotificationRetry
  /** SWITCHYARD_PUBLIC_URL: how users reach the web UI, for absolute links in notifications; null: paths only. */
  publicUrl: string | null
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** SWITCHYARD_LOG_FORMAT: `text` lines for people, or one JSON object per line for log shippers. */
  logFormat: 'text' | 'json'
  /** SWITCHYARD_RUN_AS_USER, as configured. */
  runAsUserName: string
  /**
   * Who the processes runs start on the worker run as: that user, resolved at start-up, when the server is
   * root; null when it is not (it cannot switch users, so they run as the server's own user).
   */
  runAsUser: RunAsUser | null
  /** Roles whose templates may use job types that execute user-supplied code on the worker (ansible_playbook). */
  workerCodeRoles: ReadonlySet<UserRoleName>
  /** Limits on what one API request may ask for (see graphql/limits.ts). */
  apiLimits: ApiLimits
  /** Browser-facing policy: cross-origin callers, GraphiQL, introspection (see http/security-headers.ts). */
  webSecurity: WebSecurity
  /** Sign-in throttling (modules/users/login-throttle.ts). */
  loginThrottle: { maxFailures: number; maxFailuresPerAddress: number; backoffSeconds: number; backoffMaxSeconds: number }
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean
  /** Default caps on one run's stored log (a template may set its own); output past them is dropped and counted. */
  logLimits: { lines: number; bytes: number }
  /** Bearer token GET /metrics requires; null: /metrics is open to anyone who reaches the listener. */
  metricsToken: string | null
  /** Port of an ops-only listener (/livez, /readyz, /metrics) in a process without the api role; null: none. */
  opsPort: number | null
  /** SSRF guard for outbound HTTP/SMTP (net/outbound-policy.ts): addresses denied, and exceptions to that. */
  outbound: { denyCidrs: string[]; allowCidrs: string[] }
}

export const USER_ROLES = ['ADMIN', 'OPERATOR', 'VIEWER'] as const
export type UserRoleName = (typeof USER_ROLES)[number]

/** What loadConfig asks the operating system (tests pass their own). */
export interface SystemFacts {
  /** The server's uid (null where there are none). */
  uid: number | null
  lookupUser(name: string): RunAsUser | null
}

export interface ApiLimits {
  /** Selection-set depth, aliases, directives and lexer tokens per operation, and its estimated cost. */
  maxDepth: number
  maxAliases: number
  maxDirectives: number
  maxTokens: number
  maxCost: number
  /** Largest WebSocket frame accepted (before and after authentication). */
  wsMaxPayloadBytes: number
  /** A socket that has not sent connection_init within this time is closed. */
  wsConnectionInitTimeoutMs: number
  /** Subscriptions one WebSocket connection may run at once. */
  wsMaxSubscriptions: number
}

export interface WebSecurity {
  /** Origins (scheme://host[:port]) besides the server's own that browsers may call the API and open WebSockets from. */
  corsOrigins: string[]
  graphiql: boolean
  /** Who may run introspection queries (__schema, __type). */
  introspection: 'authenticated' | 'everyone' | 'off'
}

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_ROOT = path.resolve(serverDir, '..')

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/
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
  SWITCHYARD_RUN_RETENTION_DAYS: int(0, 36500).default(90),
  SWITCHYARD_FAILED_RUN_RETENTION_DAYS: int(0, 36500).default(180),
  SWITCHYARD_RUN_RETENTION_KEEP_LAST: int(0, 100000).default(20),
  SWITCHYARD_NOTIFY_RETRY_BASE_SECONDS: int(1, 3600).default(10),
  SWITCHYARD_NOTIFY_RETRY_MAX_SECONDS: int(1, 86400).default(900),
  SWITCHYARD_NOTIFY_GIVE_UP_HOURS: int(1, 720).default(24),
  SWITCHYARD_NOTIFY_LOG_RETENTION_DAYS: int(0, 36500).default(30),
  SWITCHYARD_PUBLIC_URL: z
    .string()
    .trim()
    .refine((u) => {
      try {
        const p = new URL(u)
        return (p.protocol === 'http:' || p.protocol === 'https:') && !p.username && !p.password && !p.search && !p.hash
      } catch {
        return false
      }
    }, 'must be the http(s) URL users open the web UI at, e.g. https://switchyard.example.com')
    .optional(),
  SWITCHYARD_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  SWITCHYARD_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  SWITCHYARD_RUN_AS_USER: z.string().trim().regex(USER_NAME, 'a user name').default('nobody'),
  SWITCHYARD_WORKER_CODE_ROLES: z.string().default('ADMIN'),
  NODE_ENV: z.string().optional(),
  SWITCHYARD_GRAPHQL_MAX_DEPTH: int(2, 100).default(8),
  SWITCHYARD_GRAPHQL_MAX_ALIASES: int(0, 1000).default(20),
  SWITCHYARD_GRAPHQL_MAX_DIRECTIVES: int(0, 1000).default(20),
  SWITCHYARD_GRAPHQL_MAX_TOKENS: int(100, 1_000_000).default(2000),
  SWITCHYARD_GRAPHQL_MAX_COST: int(100, 10_000_000).default(100_000),
  SWITCHYARD_WS_MAX_PAYLOAD_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  SWITCHYARD_WS_CONNECTION_INIT_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(600).default(5),
  SWITCHYARD_WS_MAX_SUBSCRIPTIONS: int(1, 10_000).default(100),
  SWITCHYARD_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .refine((list) => list.every((o) => /^https?:\/\/[^/\s]+$/.test(o)), 'comma-separated origins like https://ops.example.com (scheme://host[:port], no path)'),
  SWITCHYARD_GRAPHIQL: z.enum(['true', 'false']).optional(),
  SWITCHYARD_INTROSPECTION: z.enum(['authenticated', 'everyone', 'off']).default('authenticated'),
  SWITCHYARD_LOGIN_MAX_FAILURES: int(1, 1000).default(5),
  SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS: int(1, 100000).default(20),
  SWITCHYARD_LOGIN_BACKOFF_SECONDS: z.coerce.number().min(0.01).max(3600).default(1),
  SWITCHYARD_LOGIN_BACKOFF_MAX_SECONDS: z.coerce.number().min(0.01).max(86400).default(900),
  SWITCHYARD_TRUST_PROXY: z.enum(['true', 'false', '1', '0']).default('false'),
  SWITCHYARD_METRICS_TOKEN: z.string().trim().min(16, 'at least 16 characters (e.g. openssl rand -hex 24)').optional(),
  SWITCHYARD_OPS_PORT: int(0, 65535).optional(),
  SWITCHYARD_LOG_LIMIT_LINES: int(1, 2_147_483_647).default(100_000),
  SWITCHYARD_LOG_LIMIT_BYTES: int(1, 2_147_483_647).default(50 * 1024 * 1024),
  // Unset: the default deny list (metadata/link-local); set to an empty string: deny nothing.
  SWITCHYARD_OUTBOUND_DENY_CIDRS: z.string().optional(),
  SWITCHYARD_OUTBOUND_ALLOW_CIDRS: z.string().default(''),
})

/** The user's uid and primary gid, through NSS (`getent`), else /etc/passwd. */
export function lookupSystemUser(name: string): RunAsUser | null {
  let line: string | undefined
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000, env: { PATH: '/usr/bin:/bin' } }).split('\n')[0]
  } catch (e) {
    // getent exits 2 for an unknown user; without getent, read the file.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return null
    line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name)
  }
  const [user, , uid, gid] = (line ?? '').split(':')
  if (user !== name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) return null
  return { name, uid: Number(uid), gid: Number(gid) }
}

const defaultSystem: SystemFacts = { uid: process.getuid?.() ?? null, lookupUser: lookupSystemUser }

function parseWorkerCodeRoles(text: string, problems: string[]): Set<UserRoleName> {
  const roles = new Set<UserRoleName>()
  const words = text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)
  if (words.length === 1 && words[0] === 'NONE') return roles
  for (const w of words) {
    if ((USER_ROLES as readonly string[]).includes(w)) roles.add(w as UserRoleName)
    else problems.push(`SWITCHYARD_WORKER_CODE_ROLES: unknown role "${w}" (expected a comma-separated list of ${USER_ROLES.join(', ')}, or NONE)`)
  }
  if (words.length === 0) problems.push('SWITCHYARD_WORKER_CODE_ROLES: name at least one role, or NONE')
  return roles
}

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

export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2), system: SystemFacts = defaultSystem): Config {
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
  const workerCodeRoles = parseWorkerCodeRoles(env.SWITCHYARD_WORKER_CODE_ROLES ?? 'ADMIN', problems)
  let runAsUser: RunAsUser | null = null
  // Only root can start processes as another user; a server that is not root runs them as itself.
  const name = env.SWITCHYARD_RUN_AS_USER?.trim() || 'nobody'
  if (system.uid === 0 && USER_NAME.test(name)) {
    runAsUser = system.lookupUser(name)
    if (!runAsUser) problems.push(`SWITCHYARD_RUN_AS_USER: no user "${name}" on this system (create it, e.g. useradd --system --no-create-home ${name}, or name an existing unprivileged user)`)
    else if (runAsUser.uid === 0 || runAsUser.gid === 0) problems.push(`SWITCHYARD_RUN_AS_USER: "${name}" is root (uid or gid 0); name an unprivileged user`)
  }
  // Read from the raw values, so their problems are reported even when other settings fail to parse.
  const deny = parseCidrList(env.SWITCHYARD_OUTBOUND_DENY_CIDRS ?? DEFAULT_DENY_CIDRS.join(','))
  const allow = parseCidrList(env.SWITCHYARD_OUTBOUND_ALLOW_CIDRS ?? '')
  for (const p of deny.problems) problems.push(`SWITCHYARD_OUTBOUND_DENY_CIDRS: ${p}`)
  for (const p of allow.problems) problems.push(`SWITCHYARD_OUTBOUND_ALLOW_CIDRS: ${p}`)
  const outbound = { denyCidrs: deny.cidrs, allowCidrs: allow.cidrs }
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
    runRetention: { days: e.SWITCHYARD_RUN_RETENTION_DAYS, failedDays: e.SWITCHYARD_FAILED_RUN_RETENTION_DAYS, keepLast: e.SWITCHYARD_RUN_RETENTION_KEEP_LAST },
    notificationRetry: { baseMs: e.SWITCHYARD_NOTIFY_RETRY_BASE_SECONDS * 1000, maxMs: e.SWITCHYARD_NOTIFY_RETRY_MAX_SECONDS * 1000, giveUpMs: e.SWITCHYARD_NOTIFY_GIVE_UP_HOURS * 3600_000, logRetentionDays: e.SWITCHYARD_NOTIFY_LOG_RETENTION_DAYS },
    publicUrl: e.SWITCHYARD_PUBLIC_URL ? e.SWITCHYARD_PUBLIC_URL.replace(/\/+$/, '') : null,
    logLevel: e.SWITCHYARD_LOG_LEVEL,
    logFormat: e.SWITCHYARD_LOG_FORMAT,
    runAsUserName: e.SWITCHYARD_RUN_AS_USER,
    runAsUser,
    workerCodeRoles,
    apiLimits: {
      maxDepth: e.SWITCHYARD_GRAPHQL_MAX_DEPTH,
      maxAliases: e.SWITCHYARD_GRAPHQL_MAX_ALIASES,
      maxDirectives: e.SWITCHYARD_GRAPHQL_MAX_DIRECTIVES,
      maxTokens: e.SWITCHYARD_GRAPHQL_MAX_TOKENS,
      maxCost: e.SWITCHYARD_GRAPHQL_MAX_COST,
      wsMaxPayloadBytes: e.SWITCHYARD_WS_MAX_PAYLOAD_BYTES,
      wsConnectionInitTimeoutMs: Math.round(e.SWITCHYARD_WS_CONNECTION_INIT_TIMEOUT_SECONDS * 1000),
      wsMaxSubscriptions: e.SWITCHYARD_WS_MAX_SUBSCRIPTIONS,
    },
    webSecurity: {
      corsOrigins: e.SWITCHYARD_CORS_ORIGINS.map((o) => o.replace(/\/$/, '').toLowerCase()),
      // GraphiQL is a development tool: off in production unless asked for.
      graphiql: e.SWITCHYARD_GRAPHIQL ? e.SWITCHYARD_GRAPHIQL === 'true' : e.NODE_ENV !== 'production',
      introspection: e.SWITCHYARD_INTROSPECTION,
    },
    loginThrottle: {
      maxFailures: e.SWITCHYARD_LOGIN_MAX_FAILURES,
      maxFailuresPerAddress: e.SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS,
      backoffSeconds: e.SWITCHYARD_LOGIN_BACKOFF_SECONDS,
      backoffMaxSeconds: e.SWITCHYARD_LOGIN_BACKOFF_MAX_SECONDS,
    },
    trustProxy: e.SWITCHYARD_TRUST_PROXY === 'true' || e.SWITCHYARD_TRUST_PROXY === '1',
    logLimits: { lines: e.SWITCHYARD_LOG_LIMIT_LINES, bytes: e.SWITCHYARD_LOG_LIMIT_BYTES },
    metricsToken: e.SWITCHYARD_METRICS_TOKEN ?? null,
    opsPort: e.SWITCHYARD_OPS_PORT ?? null,
    outbound,
  }
}
