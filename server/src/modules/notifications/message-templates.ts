/**
 * Message templates (a channel's subject, body and HTML body) in LiquidJS, sandboxed: Liquid has no code
 * execution, no file system here (`templates: {}` — include/render/layout find nothing), own properties
 * only (no prototype walking), and bounded parse size, render time and memory, so an admin's template can
 * neither read the server nor stall a worker. Output is capped as well.
 *
 * What a template sees (every field of the run; README "Notifications" lists them):
 *   event, eventLabel, deliveryId, test, channel.name, run.{…the outbox payload…, url, duration},
 *   details.{…the figures of a threshold event: durationSeconds, limitSeconds, p95Seconds, p95Factor, consecutiveFailures}
 * Unknown variables are refused when the template is saved (static analysis), naming the field.
 */
import type { Liquid, Template } from 'liquidjs'
import { lazyModule } from '../../util/lazy-module.ts'
import { ValidationError } from '../../errors.ts'

export const TEMPLATE_FIELDS = ['subjectTemplate', 'bodyTemplate', 'htmlTemplate'] as const
export type TemplateField = (typeof TEMPLATE_FIELDS)[number]
export type ChannelTemplates = Partial<Record<TemplateField, string | null>>

/** Longest template source, and longest rendered output. */
export const MAX_TEMPLATE_CHARS = 20_000
export const MAX_OUTPUT_CHARS = 100_000

const LIMITS = { parseLimit: MAX_TEMPLATE_CHARS, renderLimit: 250, memoryLimit: 4_000_000 }
const common = { ...LIMITS, templates: {}, ownPropertyOnly: true, strictFilters: true, jsTruthy: false }
/**
 * The two engines, built on first use: liquidjs is loaded only by a process that checks or renders a
 * message template (see util/lazy-module.ts).
 */
const liquid = lazyModule<typeof import('liquidjs')>('liquidjs')
let engines: { plain: Liquid; html: Liquid } | null = null

function createEngines(): { plain: Liquid; html: Liquid } {
  const { Liquid: LiquidEngine } = liquid()
  const plain = new LiquidEngine(common)
  /** HTML bodies escape every output by default (`| raw` opts out). */
  const html = new LiquidEngine({ ...common, outputEscape: 'escape' })
  // Templates come from the database, never files: the tags that would read one are refused when parsing.
  for (const engine of [plain, html]) {
    for (const tag of ['include', 'render', 'layout']) {
      engine.registerTag(tag, {
        parse() {
          throw new Error(`{% ${tag} %} is not available (templates cannot read files)`)
        },
        render() {},
      })
    }
  }
  return { plain, html }
}

const ROOTS = new Set(['event', 'eventLabel', 'deliveryId', 'test', 'channel', 'run', 'details'])
export const RUN_FIELDS = new Set([
  'id', 'number', 'templateId', 'templateName', 'jobType', 'status', 'trigger', 'attempt', 'maxAttempts',
  'createdAt', 'startedAt', 'finishedAt', 'durationSeconds', 'duration', 'error', 'failedTargets',
  'targetsTotal', 'targetsDone', 'targetsFailed', 'parameters', 'result', 'scheduleId', 'scheduleName',
  'triggeredBy', 'link', 'url', 'outputs', 'workflowId', 'workflowName',
])

export const EVENT_LABEL: Record<string, string> = {
  RUN_SUCCEEDED: 'succeeded',
  RUN_FAILED: 'failed',
  RUN_CANCELLED: 'was cancelled',
  RUN_RECOVERED: 'recovered',
  RUN_STARTED: 'started',
  RUN_TIMED_OUT: 'timed out',
  DURATION_EXCEEDED: 'ran longer than its limit',
  CONSECUTIVE_FAILURES: 'keeps failing',
  SCHEDULE_SLOT_MISSED: 'was missed by its schedule',
  SCHEDULE_SLOT_SKIPPED: 'was skipped by its schedule',
  CONFIG_CHANGED: 'committed configuration changes',
  WORKER_DOWN: 'is down (no heartbeat)',
  WORKER_RECOVERED: 'is back (heartbeating again)',
  QUEUE_BACKLOG: 'has waited in the queue longer than the limit',
}

export const DEFAULT_TEMPLATES: Record<TemplateField, string> = {
  subjectTemplate: '{% if test %}[test] {% endif %}{% if run.id %}{{ run.templateName }} #{{ run.number }}{% else %}{{ details.subject }}{% endif %} {{ eventLabel }}',
  bodyTemplate: [
    // Worker events have no run: the worker's facts instead.
    '{% if run.id == nil %}{{ details.subject }} {{ eventLabel }}.\nLast heartbeat: {{ details.lastHeartbeatAt }}\nRuns it was running: {{ details.runningRuns }}{% else %}{{ run.templateName }} #{{ run.number }} {{ eventLabel }}.',
    'Status: {{ run.status }}{% if run.duration %} after {{ run.duration }}{% endif %} (attempt {{ run.attempt }} of {{ run.maxAttempts }})',
    '{% if details.consecutiveFailures %}Failures in a row: {{ details.consecutiveFailures }}\n{% endif %}{% if event == "DURATION_EXCEEDED" %}Limit: {% if details.limitSeconds %}{{ details.limitSeconds }}s {% endif %}{% if details.p95Seconds %}{{ details.p95Factor }} × p95 of {{ details.p95Seconds }}s{% endif %}\n{% endif %}{% if run.failedTargets.size > 0 %}Failed targets: {{ run.failedTargets | join: ", " }}\n{% endif %}{% if run.error %}Error: {{ run.error }}\n{% endif %}{% if event == "CONFIG_CHANGED" %}Commit: {{ details.commit }}\n{% for t in details.changedTargets %}{{ t.name }}: {{ t.diffSummary }}\n{% endfor %}{% endif %}{% if event == "QUEUE_BACKLOG" %}Oldest queued for {{ details.queuedSeconds }}s (limit {{ details.thresholdSeconds }}s); {{ details.queuedRuns }} queued\n{% endif %}Run: {{ run.url | default: run.link }}{% endif %}',
  ].join('\n'),
  htmlTemplate: [
    '{% if run.id == nil %}<p><strong>{{ details.subject }}</strong> {{ eventLabel }}.</p><p>Last heartbeat: {{ details.lastHeartbeatAt }}; runs it was running: {{ details.runningRuns }}</p>{% else %}',
    '<p><strong>{{ run.templateName }} #{{ run.number }}</strong> {{ eventLabel }}.</p>',
    '<table><tr><th align="left">Status</th><td>{{ run.status }}</td></tr>',
    '{% if run.duration %}<tr><th align="left">Duration</th><td>{{ run.duration }}</td></tr>{% endif %}',
    '<tr><th align="left">Attempt</th><td>{{ run.attempt }} of {{ run.maxAttempts }}</td></tr>',
    '{% if run.failedTargets.size > 0 %}<tr><th align="left">Failed targets</th><td>{{ run.failedTargets | join: ", " }}</td></tr>{% endif %}',
    '{% if run.error %}<tr><th align="left">Error</th><td><pre>{{ run.error }}</pre></td></tr>{% endif %}</table>',
    '{% if event == "CONFIG_CHANGED" %}<p>Commit {{ details.commit }}</p><ul>{% for t in details.changedTargets %}<li>{{ t.name }}: {{ t.diffSummary }}</li>{% endfor %}</ul>{% endif %}',
    '{% if event == "QUEUE_BACKLOG" %}<p>Oldest queued for {{ details.queuedSeconds }}s (limit {{ details.thresholdSeconds }}s); {{ details.queuedRuns }} queued.</p>{% endif %}',
    '{% if run.url %}<p><a href="{{ run.url }}">Open the run</a></p>{% else %}<p>Run: {{ run.link }}</p>{% endif %}{% endif %}',
  ].join('\n'),
}

export interface RunPayload {
  event: string
  /** The figures behind a threshold event (DURATION_EXCEEDED, CONSECUTIVE_FAILURES). */
  details?: Record<string, unknown>
  /** Null for events about no run (a worker's). */
  run: RunRecord | null
}
export type RunRecord = Record<string, unknown> & { id: string; status: string; link: string; durationSeconds?: number | null; failedTargets?: string[] }

/** "1h 02m", "3m 05s", "4.2s". */
export function formatDuration(seconds: number | null | undefined): string | null {
  if (seconds == null || !Number.isFinite(seconds)) return null
  if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(s % 60).padStart(2, '0')}s`
}

/** The run page's absolute URL when SWITCHYARD_PUBLIC_URL is set, else null (the payload keeps the path). */
export function runUrl(publicUrl: string | null, link: string): string | null {
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}${link}` : null
}

export interface MessageContext {
  event: string
  eventLabel: string
  deliveryId: string | null
  test: boolean
  channel: { name: string }
  run: Record<string, unknown>
  details: Record<string, unknown>
}

export function messageContext(payload: RunPayload, opts: { publicUrl: string | null; deliveryId: string | null; channelName: string; test?: boolean }): MessageContext {
  const run = payload.run
  return {
    event: payload.event,
    eventLabel: EVENT_LABEL[payload.event] ?? payload.event,
    deliveryId: opts.deliveryId,
    test: opts.test ?? false,
    channel: { name: opts.channelName },
    details: payload.details ?? {},
    run: run ? { ...run, url: runUrl(opts.publicUrl, run.link), duration: formatDuration(run.durationSeconds as number | null) } : {},
  }
}

const SAMPLE_DETAILS: Record<string, Record<string, unknown>> = {
  DURATION_EXCEEDED: { durationSeconds: 185, limitSeconds: 120, p95Seconds: null, p95Factor: null },
  CONSECUTIVE_FAILURES: { consecutiveFailures: 3 },
  CONFIG_CHANGED: { commit: '4b825dc642cb6eb9a060e54bf8d69288fbee4904', changed: 1, unchanged: 2, failed: 0, changedTargets: [{ name: 'sw-core-1', diffSummary: '+3 -1' }] },
  QUEUE_BACKLOG: { queuedSeconds: 312, thresholdSeconds: 300, queuedRuns: 14 },
}

/** What a worker event carries (it has no run). */
function sampleWorkerPayload(event: string): RunPayload {
  return {
    event,
    run: null,
    details: { subject: 'Worker worker-1 (pid 4242)', workerId: '00000000-0000-4000-8000-0000000000aa', hostname: 'worker-1', pid: 4242, roles: ['worker'], startedAt: '2026-01-01T00:00:00.000Z', lastHeartbeatAt: '2026-01-01T02:00:00.000Z', runningRuns: 1 },
  }
}

/** A run as the preview and save-time checks see one when no real run is given. */
export function samplePayload(event = 'RUN_FAILED'): RunPayload & { run: RunRecord } {
  if (event === 'WORKER_DOWN' || event === 'WORKER_RECOVERED') return sampleWorkerPayload(event) as RunPayload & { run: RunRecord }
  return {
    event,
    ...(SAMPLE_DETAILS[event] ? { details: SAMPLE_DETAILS[event] } : {}),
    run: {
      id: '00000000-0000-4000-8000-000000000000', number: 42, templateId: '00000000-0000-4000-8000-000000000001', templateName: 'nightly-backup',
      jobType: 'command', status: 'FAILED', trigger: 'SCHEDULE', attempt: 2, maxAttempts: 2, createdAt: '2026-01-01T02:00:00.000Z',
      startedAt: '2026-01-01T02:00:01.000Z', finishedAt: '2026-01-01T02:03:06.000Z', durationSeconds: 185, error: 'exit code 1 on 1 target',
      failedTargets: ['sw-core-1'], targetsTotal: 3, targetsDone: 3, targetsFailed: 1, parameters: {}, result: null, scheduleId: null,
      scheduleName: null, triggeredBy: null, link: '/runs/00000000-0000-4000-8000-000000000000', outputs: { site: 'ams' },
    },
  }
}

function engineFor(field: TemplateField): Liquid {
  engines ??= createEngines()
  return field === 'htmlTemplate' ? engines.html : engines.plain
}

function fieldError(field: string, message: string): ValidationError {
  return ValidationError.field(field, message)
}

/** Parses a template and checks every variable it reads is one a message has; throws naming `path`. */
export function checkTemplate(field: TemplateField, source: string, path = `input.${field}`): Template[] {
  let parsed: Template[]
  try {
    parsed = engineFor(field).parse(source)
  } catch (e) {
    throw fieldError(path, `template syntax: ${(e as Error).message.split('\n')[0]}`)
  }
  let segments: Array<Array<string | number | unknown>>
  try {
    segments = engineFor(field).globalVariableSegmentsSync(parsed) as never
  } catch (e) {
    throw fieldError(path, `template: ${(e as Error).message.split('\n')[0]}`)
  }
  for (const seg of segments) {
    const [root, key] = seg
    if (typeof root !== 'string' || !ROOTS.has(root)) throw fieldError(path, `unknown variable "${String(root)}" (available: ${[...ROOTS].join(', ')})`)
    if (root === 'run' && typeof key === 'string' && !RUN_FIELDS.has(key)) throw fieldError(path, `unknown variable "run.${key}"`)
  }
  return parsed
}

/** Renders one template (a channel's or the default) with the limits; errors name `path`. */
export async function renderTemplate(field: TemplateField, source: string | null | undefined, ctx: MessageContext, path: string = field): Promise<string> {
  const text = source ?? DEFAULT_TEMPLATES[field]
  const parsed = checkTemplate(field, text, path)
  let out: string
  try {
    out = await engineFor(field).render(parsed, ctx as never)
  } catch (e) {
    throw fieldError(path, `template: ${(e as Error).message.split('\n')[0]}`)
  }
  if (out.length > MAX_OUTPUT_CHARS) throw fieldError(path, `renders to more than ${MAX_OUTPUT_CHARS} characters`)
  return out
}
