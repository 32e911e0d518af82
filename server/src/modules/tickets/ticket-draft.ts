/**
 * The text of a ticket for a failed run: a title, and a description with the run's summary, its failed
 * targets (with their errors) and the tail of its log. Used for the "Create ticket" draft the UI prefills
 * and, at delivery, for auto-tickets; comments for later failures and the recovery are made here too.
 * Read with plain SQL so the delivery (a pg pool, no Prisma) and the service share it. Parameters are as
 * stored on the run (SECRET values redacted); the log is the stored log (secrets masked when written).
 */
import type { RawQuery } from '../../db/credential-use.ts'
import type { TicketPriority } from './tracker-adapter.ts'

export const MAX_TITLE = 255
export const MAX_DESCRIPTION = 60_000
const LOG_TAIL_LINES = 40
const MAX_TARGETS = 50

interface RunRow {
  id: string
  number: number
  templateName: string
  status: string
  trigger: string
  error: string | null
  startedAt: Date | null
  finishedAt: Date | null
  targetsTotal: number
  targetsFailed: number
  scheduleName: string | null
}

interface TargetRow {
  name: string
  host: string
  status: string
  exitCode: number | null
  error: string | null
}

export interface TicketDraft {
  title: string
  description: string
  priority: TicketPriority
}

const RUN_SQL = `
  SELECT r.id, r.number, r.template_name AS "templateName", r.status::text AS status, r.trigger::text AS trigger, r.error,
         r.started_at AS "startedAt", r.finished_at AS "finishedAt", r.targets_total AS "targetsTotal", r.targets_failed AS "targetsFailed",
         (SELECT s.name FROM job_schedule s WHERE s.id = r.schedule_id) AS "scheduleName"
    FROM job_run r WHERE r.id = $1::uuid`
const TARGETS_SQL = `
  SELECT name, host, status::text AS status, exit_code AS "exitCode", error FROM run_target
   WHERE run_id = $1::uuid AND status IN ('FAILED', 'TIMED_OUT') ORDER BY position LIMIT ${MAX_TARGETS + 1}`
const LOG_SQL = `
  SELECT text FROM (SELECT seq, text FROM run_log WHERE run_id = $1::uuid ORDER BY seq DESC LIMIT ${LOG_TAIL_LINES}) t ORDER BY seq`

export function runLink(publicUrl: string | null, runId: string): string {
  return `${publicUrl ? publicUrl.replace(/\/+$/, '') : ''}/runs/${runId}`
}

function duration(r: RunRow): string | null {
  if (!r.startedAt || !r.finishedAt) return null
  const s = Math.round((new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime()) / 1000)
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`
}

async function loadRun(query: RawQuery, runId: string): Promise<RunRow | null> {
  return ((await query(RUN_SQL, [runId])) as RunRow[])[0] ?? null
}

/** The draft for a run, or null when the run does not exist. */
export async function ticketDraft(query: RawQuery, runId: string, publicUrl: string | null, priority: TicketPriority = 'NORMAL'): Promise<TicketDraft | null> {
  const run = await loadRun(query, runId)
  if (!run) return null
  const [targets, log] = await Promise.all([query(TARGETS_SQL, [runId]) as Promise<TargetRow[]>, query(LOG_SQL, [runId]) as Promise<Array<{ text: string }>>])
  const lines: string[] = []
  const took = duration(run)
  lines.push(`Run #${run.number} of "${run.templateName}" ended ${run.status}${took ? ` after ${took}` : ''}${run.finishedAt ? ` at ${new Date(run.finishedAt).toISOString()}` : ''} (trigger ${run.trigger}${run.scheduleName ? `, schedule "${run.scheduleName}"` : ''}).`)
  if (run.error) lines.push(`Error: ${run.error}`)
  lines.push(`Run: ${runLink(publicUrl, run.id)}`)
  if (targets.length) {
    lines.push('', `Failed targets (${run.targetsFailed} of ${run.targetsTotal}):`)
    for (const t of targets.slice(0, MAX_TARGETS)) {
      lines.push(`- ${t.name} (${t.host}): ${t.status}${t.exitCode != null ? `, exit code ${t.exitCode}` : ''}${t.error ? `: ${t.error}` : ''}`)
    }
    if (targets.length > MAX_TARGETS) lines.push(`- … and ${run.targetsFailed - MAX_TARGETS} more`)
  }
  if (log.length) {
    lines.push('', `Log (last ${log.length} lines):`, '<pre>', ...log.map((l) => l.text.replaceAll('</pre>', '<\\/pre>')), '</pre>')
  }
  return {
    title: `${run.templateName}: run #${run.number} ${run.status.toLowerCase().replace('_', ' ')}`.slice(0, MAX_TITLE),
    description: lines.join('\n').slice(0, MAX_DESCRIPTION),
    priority,
  }
}

/** A comment for a ticket's later run: another failure (with its error) or the recovery. */
export async function runComment(query: RawQuery, runId: string, reason: 'FAILED_AGAIN' | 'RECOVERED', publicUrl: string | null): Promise<string> {
  const run = await loadRun(query, runId)
  if (!run) return reason === 'RECOVERED' ? 'The template recovered (the run was since deleted).' : 'The template failed again (the run was since deleted).'
  const link = runLink(publicUrl, run.id)
  if (reason === 'RECOVERED') return `Recovered: run #${run.number} of "${run.templateName}" succeeded${run.finishedAt ? ` at ${new Date(run.finishedAt).toISOString()}` : ''}.\n${link}`
  const targets = (await query(TARGETS_SQL, [runId])) as TargetRow[]
  return [
    `Failed again: run #${run.number} of "${run.templateName}" ended ${run.status}${run.finishedAt ? ` at ${new Date(run.finishedAt).toISOString()}` : ''}.`,
    ...(run.error ? [`Error: ${run.error}`] : []),
    ...(targets.length ? [`Failed targets: ${targets.slice(0, MAX_TARGETS).map((t) => t.name).join(', ')}${targets.length > MAX_TARGETS ? ', …' : ''}`] : []),
    link,
  ].join('\n')
}
