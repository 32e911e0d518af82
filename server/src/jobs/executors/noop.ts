/**
 * `noop`: does nothing and succeeds. Useful to test a pipeline end to end (schedules, permissions,
 * notifications) without touching any machine, and what the throughput benchmark measures.
 */
import { z } from 'zod'
import type { JobExecutor } from './types.ts'

const configSchema = z
  .object({
    message: z.string().max(1000).optional().describe('A line to write to the run log.'),
  })
  .strict()

export const noopExecutor: JobExecutor<typeof configSchema> = {
  type: 'noop',
  label: 'No-op',
  description: 'Does nothing and succeeds; for testing schedules, permissions and integrations.',
  configSchema,
  usesTargets: false,
  async execute(ctx) {
    if (ctx.config.message) ctx.log.system(ctx.config.message)
    return { ok: true }
  },
}
