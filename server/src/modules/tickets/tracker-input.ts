/** What a ticket tracker and an auto-ticket rule may be: the input schemas, each error naming its field. */
import { z } from 'zod'
import { ValidationError } from '../../errors.ts'
import { httpUrlSchema } from '../http-url.ts'

export const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'] as const

export const trackerInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  kind: z.enum(['REDMINE', 'WEBHOOK']),
  url: httpUrlSchema(),
  credentialId: z.uuid(),
  project: z.string().trim().min(1, 'required').max(100).regex(/^[a-z0-9][a-z0-9_-]*$|^\d+$/, "a Redmine project identifier (e.g. network-ops) or id").nullable().default(null),
  redmineTrackerId: z.number().int().min(1).max(1_000_000).nullable().default(null),
  closedStatusId: z.number().int().min(1).max(1_000_000).nullable().default(null),
})
export type TrackerInput = z.output<typeof trackerInput>
export const TRACKER_FIELDS = ['name', 'kind', 'url', 'credentialId', 'project', 'redmineTrackerId', 'closedStatusId']
export const CLEARABLE_TRACKER_FIELDS = ['project', 'redmineTrackerId', 'closedStatusId']

/** What each kind needs besides the common fields. */
export function checkTrackerShape(t: TrackerInput): void {
  if (t.kind === 'REDMINE' && !t.project) throw ValidationError.field('input.project', 'required for a Redmine tracker')
}

export const ruleInput = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  trackerId: z.uuid(),
  templateIds: z.array(z.uuid()).max(1000).default([]),
  trigger: z.enum(['FAILED', 'CONSECUTIVE_FAILURES']).default('FAILED'),
  consecutiveFailures: z.number().int().min(2, 'at least 2').max(1000, 'at most 1000').nullable().default(null),
  priority: z.enum(PRIORITIES).default('NORMAL'),
  closeOnRecovery: z.boolean().default(true),
  enabled: z.boolean().default(true),
})
export type RuleInput = z.output<typeof ruleInput>
export const RULE_FIELDS = ['name', 'trackerId', 'templateIds', 'trigger', 'consecutiveFailures', 'priority', 'closeOnRecovery', 'enabled']
export const CLEARABLE_RULE_FIELDS = ['consecutiveFailures']

export const ticketInput = z.object({
  jobRunId: z.uuid(),
  trackerId: z.uuid(),
  title: z.string().trim().min(1, 'required').max(255, 'at most 255 characters'),
  description: z.string().max(60_000, 'at most 60000 characters').default(''),
  priority: z.enum(PRIORITIES).default('NORMAL'),
})
