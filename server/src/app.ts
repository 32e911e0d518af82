/**
 * Composition root: builds every part from the config and wires them together. Nothing else creates
 * long-lived resources, and nothing imports this module except entry points and tests.
 */
import crypto from 'node:crypto'
import http from 'node:http'
import pg from 'pg'
import type { AddressInfo } from 'node:net'
import type { Config } from './config.ts'
import { loadOrCreateSecretKey, SecretBox } from './crypto/secret-box.ts'
import { createDatabase, logPostgresWarnings, survivePostgresRestarts, TCP_KEEPALIVE, type Database } from './db/database.ts'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded-postgres.ts'
import { listMigrations, migrate } from './db/migrate.ts'
import { createGraphQLServer, GRAPHQL_PATH } from './graphql/yoga.ts'
import { createUiHandler } from './http/ui.ts'
import { API_CSP, GRAPHIQL_CSP, setSecurityHeaders, UI_CSP, wantsGraphiQL } from './http/security-headers.ts'
import { tokenFromHeader } from './auth/tokens.ts'
import { ARTIFACTS_PATH, createArtifactHandler } from './http/artifacts.ts'
import { createWebhookHandler, WEBHOOK_PATH } from './http/webhooks.ts'
import { WebhookReceiver } from './modules/webhooks/webhook-receiver.ts'
import { deleteExpiredWebhookCalls } from './modules/webhooks/call-retention.ts'
import { WebhooksService } from './modules/webhooks/webhooks.service.ts'
import { Metrics } from './metrics/metrics.ts'
import { HealthChecks } from './http/health.ts'
import { createOpsEndpoints, isOpsRequest } from './http/ops-endpoints.ts'
import type { Services } from './graphql/context.ts'
import { Dispatcher } from './jobs/dispatcher.ts'
import { CheckmkDevices } from './modules/checkmk/device-results.ts'
import { DeviceResultsService } from './modules/checkmk/device-results.service.ts'
import { createDefaultRegistry, type ExecutorRegistry } from './jobs/executors/registry.ts'
import { Reaper } from './jobs/reaper.ts'
import { createBoss, RunQueue } from './jobs/run-queue.ts'
import { WorkerPresence } from './jobs/worker-presence.ts'
import { LogWriter } from './logs/log-writer.ts'
import { AuditService } from './modules/audit/audit.service.ts'
import { CredentialsService } from './modules/credentials/credentials.service.ts'
import { InventoriesService } from './modules/inventories/inventories.service.ts'
import { InventorySourcesService } from './modules/inventory-sources/inventory-sources.service.ts'
import { InventorySync } from './modules/inventory-sources/inventory-sync.ts'
import { PreRunSync } from './modules/inventory-sources/pre-run-sync.ts'
import { NautobotWriteBack } from './modules/inventory-sources/nautobot-writeback.ts'
import { RunLive } from './modules/runs/run-live.ts'
import { RunsService } from './modules/runs/runs.service.ts'
import { RunRetention } from './modules/runs/run-retention.ts'
import { LogPartitions } from './modules/runs/log-partitions.ts'
import { RunStatsService } from './modules/runs/run-stats.service.ts'
import { TargetsService } from './modules/targets/targets.service.ts'
import { TemplatesService } from './modules/templates/templates.service.ts'
import { UsersService } from './modules/users/users.service.ts'
import { BlackoutsService } from './modules/schedules/blackouts.service.ts'
import { Scheduler } from './modules/schedules/scheduler.ts'
import { SchedulesService } from './modules/schedules/schedules.service.ts'
import { PgListener } from './pubsub/pg-listener.ts'
import { WorkflowLive } from './modules/workflows/workflow-live.ts'
import { WorkflowFeeds } from './modules/workflows/workflow-feeds.ts'
import { WorkflowRunsService } from './modules/workflows/workflow-runs.service.ts'
import { WorkflowStarter } from './modules/workflows/workflow-starter.ts'
import { DependenciesService } from './modules/dependencies/dependencies.service.ts'
import { DependencyStarter } from './modules/dependencies/dependency-starter.ts'
import { WebhookDelivery } from './modules/notifications/webhook-delivery.ts'
import { runNotificationWatch } from './modules/notifications/notification-watch.ts'
import { ChannelSender } from './modules/notifications/channel-sender.ts'
import { NotificationsService } from './modules/notifications/notifications.service.ts'
import { deleteExpiredDeliveries } from './modules/notifications/delivery-retention.ts'
import { TicketsService } from './modules/tickets/tickets.service.ts'
import { TicketDelivery } from './modules/tickets/ticket-delivery.ts'
import { deleteExpiredTicketActions } from './modules/tickets/action-retention.ts'
import { WorkflowsService } from './modules/workflows/workflows.service.ts'
import { protectDataDir } from './sandbox/data-dir.ts'
import { ProcessSandbox } from './sandbox/process-sandbox.ts'
import { RunWatchService } from './modules/runs/run-watch.service.ts'
import { WorkflowRunWatchService } from './modules/workflows/workflow-run-watch.service.ts'
import { sealPlainChatUrls } from './modules/notifications/channel-url.ts'
import { OutboundPolicy } from './net/outbound-policy.ts'
import type { Logger } from './util/logger.ts'
import { Semaphore } from './util/semaphore.ts'

export interface AppOptions {
  logger: Logger
  /** Replaces the built-in job types (tests add their own). */
  registry?: ExecutorRegistry
  /** Called once with the generated admin password on first start (main prints it). */
  onInitialAdmin?: (username: string, password: string | undefined) => void
  /** How often open WebSockets are re-checked for expired tokens (default 30 s; tests shorten it). */
  wsSweepMs?: number
  /** When the log says a run's ending is slow (default 10 s; tests shorten it). */
  slowStageMs?: number
}

export interface App {
  readonly config: Config
  readonly db: Database
  readonly services: Services
  readonly databaseUrl: string
  /** http://host:port of the API, when the api role runs. */
  readonly url: string | null
  /** http://host:port of the ops-only listener (SWITCHYARD_OPS_PORT in a process without the api role). */
  readonly opsUrl: string | null
  readonly workerId: string
  readonly dispatcher: Dispatcher | null
  readonly reaper: Reaper | null
  readonly scheduler: Scheduler | null
  stop(options?: { graceMs?: number }): Promise<void>
}

export async function startApp(config: Config, options: AppOptions): Promise<App> {
  const { logger } = options
  const stack: Array<() => Promise<unknown>> = []
  const stopAll = async () => {
    for (const fn of stack.splice(0).reverse()) {
      await fn().catch((e) => logger.warn('shutdown step failed', { error: (e as Error).message }))
    }
  }
  let stopGraceMs = 10_000
  let stopping = false
  try {
    let embedded: EmbeddedDatabase | null = null
    if (!config.databaseUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, logger.child({ component: 'postgres' }))
      stack.push(() => embedded!.stop())
    }
    const databaseUrl = config.databaseUrl ?? embedded!.url

    const db = createDatabase(databaseUrl, { max: config.dbPoolSize, applicationName: `switchyard-${[...config.roles].join('+')}`, logger: logger.child({ component: 'db' }) })
    stack.push(() => db.close())
    const { applied } = await migrate(db.pool)
    if (applied.length) logger.info('database migrated', { applied: applied.join(',') })

    const { key, generatedAt } = loadOrCreateSecretKey(config.secretKey, config.dataDir)
    if (generatedAt) logger.warn('generated a credential encryption key; back it up, and set SWITCHYARD_SECRET_KEY on every process that shares this database', { file: generatedAt })
    const box = new SecretBox(key)
    // Chat webhook URLs left in clear by older versions are sealed (write-only) once the key is known.
    const sealedUrls = await sealPlainChatUrls(db.pool, box)
    if (sealedUrls) logger.info('sealed chat webhook URLs stored in clear', { channels: sealedUrls })
    const outbound = new OutboundPolicy(config.outbound.denyCidrs, config.outbound.allowCidrs)
    stack.push(() => outbound.close())
    const channelSender = new ChannelSender(box, config.publicUrl, outbound)
    for (const change of protectDataDir(config.dataDir, embedded !== null)) logger.warn('data directory was readable by other users: permissions tightened', { change })

    const boss = createBoss(databaseUrl, config.bossSchema, Math.max(2, Math.ceil(config.dbPoolSize / 3)))
    boss.on('error', (e) => logger.error('pg-boss error', { error: (e as Error).message }))
    await boss.start()
    let queueStarted = false
    stack.push(() => {
      queueStarted = false
      return boss.stop({ graceful: false, close: true })
    })
    const queue = new RunQueue(boss, config.bossSchema)
    await queue.ensure()
    queueStarted = true

    const listener = new PgListener(databaseUrl, logger.child({ component: 'listen' }))
    await listener.start()
    stack.push(() => listener.stop())

    const health = new HealthChecks(databaseUrl, {
      migrations: listMigrations(),
      queueStarted: () => queueStarted,
      // Every role listens: the API for live subscriptions, workers for cancels and new runs, the
      // scheduler for schedule changes.
      listenConnected: () => listener.connected,
      stopping: () => stopping,
    })
    stack.push(() => health.close())

    const metrics = new Metrics()
    const logs = new LogWriter(db.pool, logger.child({ component: 'logs' }), { onWritten: (lines, bytes) => metrics.logWritten(lines, bytes) })
    stack.push(() => logs.close())

    const inventorySync = new InventorySync(db.prisma, box, outbound)
    const preRunSync = new PreRunSync(db.prisma, db.pool, inventorySync)
    const registry = options.registry ?? createDefaultRegistry({ inventorySync, checkmkDevices: new CheckmkDevices(db.prisma, inventorySync), nautobot: new NautobotWriteBack(inventorySync), outbound })
    const users = new UsersService(db.prisma, db.pool, config.sessionTtlHours, config.loginThrottle)
    const runs = new RunsService(db.prisma, registry, box, queue, db.pool)
    const live = new RunLive(db.pool, db.prisma, runs, listener, logger.child({ component: 'live' }))
    const audit = new AuditService(db.pool)
    const workflows = new WorkflowsService(db.prisma, registry)
    const workflowRuns = new WorkflowRunsService(db.prisma, workflows, runs, box)
    const services: Services = {
      users,
      audit,
      credentials: new CredentialsService(db.prisma, box, registry),
      targets: new TargetsService(db.prisma),
      inventories: new InventoriesService(db.prisma),
      inventorySources: new InventorySourcesService(db.prisma, inventorySync, runs, outbound),
      templates: new TemplatesService(db.prisma, registry, config.workerCodeRoles, outbound),
      runs,
      runStats: new RunStatsService(db.pool),
      live,
      runWatch: new RunWatchService(db.prisma, runs, listener, logger.child({ component: 'run-watch' })),
      schedules: new SchedulesService(db.prisma, box, runs, config.defaultTimezone),
      dependencies: new DependenciesService(db.prisma),
      webhooks: new WebhooksService(db.prisma),
      blackouts: new BlackoutsService(db.prisma, config.defaultTimezone),
      workflows,
      workflowRuns,
      workflowRunWatch: new WorkflowRunWatchService(db.prisma, workflowRuns, listener, logger.child({ component: 'workflow-run-watch' })),
      workflowLive: new WorkflowLive(db.prisma, workflowRuns, listener, logger.child({ component: 'workflow-live' })),
      workflowFeeds: new WorkflowFeeds(db.prisma, workflowRuns, listener, logger.child({ component: 'workflow-feeds' })),
      notifications: new NotificationsService(db.prisma, channelSender, box, config.publicUrl, outbound),
      tickets: new TicketsService(db.prisma, box, config.publicUrl, outbound),
      deviceResults: new DeviceResultsService(db.prisma, runs),
      registry,
      pool: db.pool,
    }

    const admin = await users.ensureInitialAdmin(config.adminUsername, config.adminPassword)
    if (admin.created) options.onInitialAdmin?.(config.adminUsername, admin.password)

    const workerId = crypto.randomUUID()
    const roles = [...config.roles]
    let dispatcher: Dispatcher | null = null
    let reaper: Reaper | null = null
    const heartbeatMs = config.heartbeatSeconds * 1000

    if (config.roles.has('worker')) {
      const sandbox = new ProcessSandbox(config.runAsUser, logger.child({ component: 'sandbox' }))
      if (!config.runAsUser) {
        logger.warn(
          'the server is not root, so processes started by runs (ansible, git, ssh-keyscan, ping) run as its own user, with a clean environment: give the server a dedicated OS user and use a database that requires a password (see README, Security and trust model)',
          { runAsUser: config.runAsUserName },
        )
      }
      // Claims on connections of their own: with many slots, the runs of a fan-out's first slice settling
      // at once held every connection of the main pool, and the next slice's claim queued behind them
      // (bench workflow, 100 slots: claim p99 ~160–300 ms on the shared pool, ~25–90 ms on its own).
      const claimPool = logPostgresWarnings(survivePostgresRestarts(new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'switchyard-claim', ...TCP_KEEPALIVE })), logger.child({ component: 'db' }))
      stack.push(() => claimPool.end()) // after the dispatcher's stop (the stack unwinds in reverse)
      dispatcher = new Dispatcher({
        pool: db.pool,
        claimPool,
        boss,
        queue,
        registry,
        box,
        logs,
        listener,
        logger: logger.child({ component: 'dispatcher' }),
        workerId,
        concurrency: config.workerConcurrency,
        handshakeLimiter: new Semaphore(config.sshHandshakeConcurrency),
        artifactRetentionDays: config.artifactRetentionDays,
        artifactMaxBytes: config.artifactMaxBytes,
        sandbox,
        workerCodeRoles: config.workerCodeRoles,
        logLimits: config.logLimits,
        metrics,
        beforeTargets: (req) => preRunSync.beforeTargets(req),
        slowStageMs: options.slowStageMs,
      })
    }
    // Its own connection: liveness must not queue behind the work it vouches for. A beat that hangs (a
    // half-open connection: the network dropped it silently) gives up in time for the next beat, on a
    // new connection, to land before the dead-after period, rather than let the reaper take a live worker
    // for a dead one.
    const beatTimeoutMs = Math.max(heartbeatMs, config.workerDeadAfterSeconds * 1000 - 2 * heartbeatMs)
    const presencePool = survivePostgresRestarts(
      new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: 'switchyard-presence', query_timeout: beatTimeoutMs, connectionTimeoutMillis: beatTimeoutMs, ...TCP_KEEPALIVE }),
    )
    stack.push(() => presencePool.end())
    const presence = new WorkerPresence(presencePool, workerId, roles, heartbeatMs, logger.child({ component: 'presence' }), dispatcher)
    await presence.start()
    stack.push(() => presence.stop())
    if (dispatcher) {
      await dispatcher.start()
      const d = dispatcher
      stack.push(() => d.stop(stopGraceMs))
      // Workers also start the workflow nodes the graph's advance made READY.
      const starter = new WorkflowStarter(db.prisma, listener, { runs, box }, logger.child({ component: 'workflows' }), heartbeatMs)
      await starter.start()
      stack.push(() => starter.stop())
      // And the runs of template dependencies whose upstream run ended.
      const dependents = new DependencyStarter(db.prisma, runs, listener, logger.child({ component: 'dependencies' }), heartbeatMs)
      await dependents.start()
      stack.push(() => dependents.stop())
      // Workers deliver the notification outbox too (never in a run's path: its own queue).
      const notifications = new WebhookDelivery(db.pool, boss, listener, channelSender, config.notificationRetry, logger.child({ component: 'notifications' }), heartbeatMs, (kind, outcome, requestSeconds, sinceEventSeconds) =>
        metrics.notificationAttempt(kind, outcome, requestSeconds, sinceEventSeconds),
      )
      await notifications.start()
      stack.push(() => notifications.stop())
      // And the tickets' outbox (creates, comments, closes in the trackers), likewise on its own queue.
      const tickets = new TicketDelivery(db.pool, boss, listener, box, config.notificationRetry, config.publicUrl, logger.child({ component: 'tickets' }), heartbeatMs, outbound)
      await tickets.start()
      stack.push(() => tickets.stop())
    }
    let scheduler: Scheduler | null = null
    if (config.roles.has('scheduler')) {
      scheduler = new Scheduler(db.prisma, runs, listener, logger.child({ component: 'scheduler' }), box, { onFired: (s) => metrics.scheduleFired(s) })
      await scheduler.start()
      const sch = scheduler
      stack.push(() => sch.stop())
    }
    if (config.roles.has('worker') || config.roles.has('scheduler')) {
      const runRetention = new RunRetention(db.pool, config.runRetention)
      const logPartitions = new LogPartitions(db.pool, runRetention)
      reaper = new Reaper(db.pool, queue, logger.child({ component: 'reaper' }), config.workerDeadAfterSeconds, heartbeatMs, [
        { name: 'audit retention', run: () => audit.deleteExpired(config.auditRetentionDays) },
        { name: 'login throttle cleanup', run: () => users.deleteStaleLoginThrottles() },
        // Before run retention: logs of expired runs go with their partition, so deleting the runs finds few lines left.
        { name: 'log partitions', run: () => logPartitions.runIfDue() },
        { name: 'run retention', run: () => runRetention.runIfDue() },
        { name: 'notification delivery log retention', run: () => deleteExpiredDeliveries(db.pool, config.notificationRetry.logRetentionDays) },
        { name: 'ticket action log retention', run: () => deleteExpiredTicketActions(db.pool, config.notificationRetry.logRetentionDays) },
        // Long-running runs and queue backlogs, for notification rules that ask (cheap when none does).
        { name: 'notification watch', run: () => runNotificationWatch(db.pool) },
        { name: 'webhook call log retention', run: () => deleteExpiredWebhookCalls(db.pool, config.auditRetentionDays) },
      ], (jobType, seconds) => metrics.runFinished(jobType, 'FAILED', seconds))
      await reaper.start()
      const r = reaper
      stack.push(() => r.stop())
    }

    // Anyone may ask whether the process is up or ready; which roles it runs and its worker id are for
    // signed-in users only (they help an attacker map a deployment).
    const signedIn = async (req: http.IncomingMessage) => {
      const token = tokenFromHeader(req.headers.authorization ?? null)
      if (!token) return false
      // During an outage a token cannot be checked: the caller gets the anonymous answer, in time.
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 2000)))
      const actor = await Promise.race([users.authenticate(token).catch(() => null), deadline])
      clearTimeout(timer)
      return actor !== null
    }
    let wsActivity: (() => { connections: number; operations: number; maxBufferedBytes: number }) | null = null
    const d = dispatcher
    metrics.observe({
      worker: d ? () => d.slots() : null,
      subscriptions: config.roles.has('api') ? () => wsActivity?.() ?? { connections: 0, operations: 0, maxBufferedBytes: 0 } : null,
      pool: db.pool,
      poolMax: config.dbPoolSize,
      // On the probe's connection, with its deadline: a scrape never hangs on a stalled database.
      queueState: async () => {
        const { rows } = await health.query<{ depth: number; age: number }>(
          `SELECT count(*)::int AS depth, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age FROM job_run WHERE status = 'QUEUED'`,
        )
        return { depth: rows[0]!.depth, oldestAgeSeconds: rows[0]!.age }
      },
    })
    const ops = createOpsEndpoints({ health, metrics, metricsToken: config.metricsToken, signedIn, roles, workerId, logger })

    let url: string | null = null
    let opsUrl: string | null = null
    if (!config.roles.has('api') && config.opsPort !== null) {
      // No API here: the ops endpoints alone, so probes and Prometheus reach workers and schedulers too.
      const opsServer = http.createServer((req, res) => {
        setSecurityHeaders(res, API_CSP)
        if (!ops(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      })
      await new Promise<void>((resolve, reject) => {
        opsServer.once('error', reject)
        opsServer.listen(config.opsPort!, config.host, () => resolve())
      })
      const a = opsServer.address() as AddressInfo
      opsUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
      stack.push(async () => {
        opsServer.closeAllConnections()
        await new Promise<void>((resolve) => opsServer.close(() => resolve()))
      })
    }
    if (config.roles.has('api')) {
      await live.start()
      stack.push(() => live.stop())
      const ui = createUiHandler({ logger: logger.child({ component: 'ui' }) })
      stack.push(() => ui.close())
      const { yoga, attachWebSocket, wsActivity: graphqlWsActivity } = createGraphQLServer({
        prisma: db.prisma,
        services,
        logger: logger.child({ component: 'graphql' }),
        limits: config.apiLimits,
        web: config.webSecurity,
        trustProxy: config.trustProxy,
      })
      const artifacts = createArtifactHandler({ prisma: db.prisma, users })
      const webhooks = createWebhookHandler({ prisma: db.prisma, receiver: new WebhookReceiver(db.prisma, runs, box), logger: logger.child({ component: 'webhooks' }) })
      const healthz = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        const actor = await signedIn(req)
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(actor ? { status: 'ok', roles, workerId } : { status: 'ok' }))
      }
      wsActivity = graphqlWsActivity
      const server = http.createServer((req, res) => {
        if (req.url === '/healthz') {
          setSecurityHeaders(res, API_CSP)
          return void healthz(req, res)
        }
        if (isOpsRequest(req)) {
          setSecurityHeaders(res, API_CSP)
          return void ops(req, res)
        }
        if (req.url?.startsWith(GRAPHQL_PATH)) {
          setSecurityHeaders(res, config.webSecurity.graphiql && wantsGraphiQL(req) ? GRAPHIQL_CSP : API_CSP)
          return void yoga(req, res)
        }
        if (req.url?.startsWith(ARTIFACTS_PATH)) {
          setSecurityHeaders(res, API_CSP)
          return void artifacts(req, res).catch((e) => {
            logger.error('artifact download failed', { error: (e as Error).message })
            if (!res.headersSent) res.writeHead(500).end()
          })
        }
        if (req.url?.startsWith(WEBHOOK_PATH)) {
          setSecurityHeaders(res, API_CSP)
          return void webhooks(req, res)
        }
        setSecurityHeaders(res, UI_CSP)
        ui.handle(req, res) // every other path: the web UI (client/)
      })
      const closeWs = await attachWebSocket(server, { listener, sweepMs: options.wsSweepMs })
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.port, config.host, () => resolve())
      })
      const addr = server.address() as AddressInfo
      url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
      stack.push(async () => {
        await closeWs()
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      })
    }

    return {
      config,
      db,
      services,
      databaseUrl,
      url,
      opsUrl,
      workerId,
      dispatcher,
      reaper,
      scheduler,
      async stop(o = {}) {
        stopping = true
        stopGraceMs = o.graceMs ?? stopGraceMs
        await stopAll()
      },
    }
  } catch (e) {
    await stopAll()
    throw e
  }
}
