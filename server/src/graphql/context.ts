import type { RunWatchService } from '../modules/runs/run-watch.service.ts'
import type { WorkflowRunWatchService } from '../modules/workflows/workflow-run-watch.service.ts'
import type { DependenciesService } from '../modules/dependencies/dependencies.service.ts'
import type { WebhooksService } from '../modules/webhooks/webhooks.service.ts'
import type pg from 'pg'
import type { DeviceResultsService } from '../modules/checkmk/device-results.service.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Actor } from '../modules/actor.ts'
import type { ExecutorRegistry } from '../jobs/executors/registry.ts'
import type { UsersService } from '../modules/users/users.service.ts'
import type { AuditService } from '../modules/audit/audit.service.ts'
import type { CredentialsService } from '../modules/credentials/credentials.service.ts'
import type { TargetsService } from '../modules/targets/targets.service.ts'
import type { InventoriesService } from '../modules/inventories/inventories.service.ts'
import type { InventorySourcesService } from '../modules/inventory-sources/inventory-sources.service.ts'
import type { TemplatesService } from '../modules/templates/templates.service.ts'
import type { RunsService } from '../modules/runs/runs.service.ts'
import type { RunLive } from '../modules/runs/run-live.ts'
import type { RunStatsService } from '../modules/runs/run-stats.service.ts'
import type { BlackoutsService } from '../modules/schedules/blackouts.service.ts'
import type { SchedulesService } from '../modules/schedules/schedules.service.ts'
import type { WorkflowsService } from '../modules/workflows/workflows.service.ts'
import type { WorkflowRunsService } from '../modules/workflows/workflow-runs.service.ts'
import type { WorkflowLive } from '../modules/workflows/workflow-live.ts'
import type { WorkflowFeeds } from '../modules/workflows/workflow-feeds.ts'
import type { NotificationsService } from '../modules/notifications/notifications.service.ts'
import type { TicketsService } from '../modules/tickets/tickets.service.ts'

export interface Services {
  users: UsersService
  audit: AuditService
  credentials: CredentialsService
  targets: TargetsService
  inventories: InventoriesService
  inventorySources: InventorySourcesService
  templates: TemplatesService
  runs: RunsService
  runStats: RunStatsService
  live: RunLive
  runWatch: RunWatchService
  workflowRunWatch: WorkflowRunWatchService
  schedules: SchedulesService
  blackouts: BlackoutsService
  workflows: WorkflowsService
  workflowRuns: WorkflowRunsService
  workflowLive: WorkflowLive
  workflowFeeds: WorkflowFeeds
  notifications: NotificationsService
  tickets: TicketsService
  deviceResults: DeviceResultsService
  dependencies: DependenciesService
  webhooks: WebhooksService
  registry: ExecutorRegistry
  pool: pg.Pool
}

export interface GraphQLContext {
  actor: Actor | null
  /** The bearer token of this request (for logout). */
  token: string | null
  /** The client's IP address (the socket's, or X-Forwarded-For's behind a trusted proxy); null if unknown. */
  clientAddress: string | null
  prisma: PrismaClient
  services: Services
}
