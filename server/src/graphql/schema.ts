/** Assembles the schema: each types module registers its part on the builder when imported. */
import { lexicographicSortSchema, printSchema } from 'graphql'
import { guardArguments } from './argument-guard.ts'
import { builder } from './builder.ts'
import './types/enums.ts'
import './types/users.ts'
import './types/credentials.ts'
import './types/targets.ts'
import './types/inventory-sources.ts'
import './types/templates.ts'
import './types/runs.ts'
import './types/device-results.ts'
import './types/run-stats.ts'
import './types/live.ts'
import './types/run-watch.ts'
import './types/schedules.ts'
import './types/audit.ts'
import './types/workflows.ts'
import './types/workflow-feeds.ts'
import './types/workflow-job-runs.ts'
import './types/notifications.ts'
import './types/dependencies.ts'
import './types/webhooks.ts'
import './types/tickets.ts'

export const schema = guardArguments(builder.toSchema())

/** The SDL checked in as /schema.graphql (sorted, so diffs show real changes only). */
export function printSchemaSdl(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n'
}
