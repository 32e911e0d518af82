/**
 * Notification rules in the console, the parts worth testing without a browser: the threshold fields of
 * DURATION_EXCEEDED (a limit, a multiple of the template's p95) and CONSECUTIVE_FAILURES (the streak), as
 * typed and back to the API's input with the checks the API would only make after a round trip, and a
 * rule's event with its threshold in words.
 */
import { eventLabel } from './notifications'

export interface ThresholdDraft {
  /** "600", "90s", "15m", "2h", "1d"; blank: no absolute limit. */
  durationLimit: string
  /** "2", "1.5"; blank: no p95 comparison. */
  durationP95Factor: string
  /** Blank: the server's default, 3. */
  consecutiveFailures: string
  /** QUEUE_BACKLOG: "300", "5m" (required with it). */
  queueBacklog: string
}

export interface RuleThresholds {
  durationLimitSeconds?: number | null
  durationP95Factor?: number | null
  consecutiveFailures?: number | null
  queueBacklogSeconds?: number | null
}

export const DEFAULT_CONSECUTIVE_FAILURES = 3
const MAX_LIMIT_SECONDS = 30 * 86400
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** Seconds as the field shows them: whole minutes and hours in their unit (600 → "10m"). */
export function formatLimit(seconds: number | null | undefined): string {
  if (seconds == null) return ''
  if (seconds % 86400 === 0) return `${seconds / 86400}d`
  if (seconds % 3600 === 0) return `${seconds / 3600}h`
  if (seconds % 60 === 0) return `${seconds / 60}m`
  return `${seconds}s`
}

/** "90", "90s", "15m", "2h", "1d" → seconds; null when it is not a duration. */
export function parseLimit(text: string): number | null {
  const m = /^(\d+)\s*([smhd]?)$/i.exec(text.trim())
  if (!m) return null
  return Number(m[1]) * UNIT_SECONDS[(m[2] || 's').toLowerCase()]!
}

export function thresholdDraft(rule: RuleThresholds | null): ThresholdDraft {
  return {
    durationLimit: formatLimit(rule?.durationLimitSeconds),
    durationP95Factor: rule?.durationP95Factor != null ? String(rule.durationP95Factor) : '',
    consecutiveFailures: rule?.consecutiveFailures != null ? String(rule.consecutiveFailures) : '',
    queueBacklog: formatLimit(rule?.queueBacklogSeconds),
  }
}

/**
 * The threshold part of the API's input for the chosen events, or the problems to show first, keyed by
 * the API's field names. An event not chosen clears its thresholds (null): the form shows the whole rule.
 */
export function thresholdInput(events: readonly string[], d: ThresholdDraft): { input: Required<RuleThresholds>; errors: Record<string, string> } {
  const errors: Record<string, string> = {}
  const input: Required<RuleThresholds> = { durationLimitSeconds: null, durationP95Factor: null, consecutiveFailures: null, queueBacklogSeconds: null }
  if (events.includes('DURATION_EXCEEDED')) {
    if (d.durationLimit.trim()) {
      const s = parseLimit(d.durationLimit)
      if (s === null) errors.durationLimitSeconds = 'Write a duration such as 600, 90s, 15m or 2h.'
      else if (s < 1 || s > MAX_LIMIT_SECONDS) errors.durationLimitSeconds = 'Between 1 second and 30 days.'
      else input.durationLimitSeconds = s
    }
    if (d.durationP95Factor.trim()) {
      const f = Number(d.durationP95Factor.trim().replace(',', '.'))
      if (!Number.isFinite(f) || !/^\d+([.,]\d+)?$/.test(d.durationP95Factor.trim())) errors.durationP95Factor = 'A number such as 2 or 1.5.'
      else if (f < 1 || f > 100) errors.durationP95Factor = 'Between 1 (the p95 itself) and 100.'
      else input.durationP95Factor = f
    }
    if (!d.durationLimit.trim() && !d.durationP95Factor.trim()) errors.durationLimitSeconds = 'Give a limit, a multiple of the p95, or both.'
  }
  if (events.includes('CONSECUTIVE_FAILURES') && d.consecutiveFailures.trim()) {
    const t = d.consecutiveFailures.trim()
    if (!/^\d+$/.test(t)) errors.consecutiveFailures = 'A whole number of failures.'
    else if (Number(t) < 2 || Number(t) > 1000) errors.consecutiveFailures = 'Between 2 and 1000.'
    else input.consecutiveFailures = Number(t)
  }
  if (events.includes('QUEUE_BACKLOG')) {
    const s = parseLimit(d.queueBacklog)
    if (!d.queueBacklog.trim()) errors.queueBacklogSeconds = 'How long may the oldest queued run wait? e.g. 5m.'
    else if (s === null) errors.queueBacklogSeconds = 'Write a duration such as 300, 90s, 5m or 1h.'
    else if (s < 1 || s > 7 * 86400) errors.queueBacklogSeconds = 'Between 1 second and 7 days.'
    else input.queueBacklogSeconds = s
  }
  return { input, errors }
}

/** "600s" → "10 min"; a limit in words. */
export function limitWords(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`
  if (seconds % 3600 === 0) return `${seconds / 3600} h`
  if (seconds % 60 === 0) return `${seconds / 60} min`
  return `${seconds} s`
}

/** A rule's event with its threshold: "Ran too long (> 10 min or 2 × p95)", "3 failures in a row". */
export function ruleEventLabel(event: string, rule: RuleThresholds): string {
  if (event === 'DURATION_EXCEEDED') {
    const parts = [rule.durationLimitSeconds != null ? `> ${limitWords(rule.durationLimitSeconds)}` : null, rule.durationP95Factor != null ? `${rule.durationP95Factor} × p95` : null].filter(Boolean)
    return parts.length ? `${eventLabel(event)} (${parts.join(' or ')})` : eventLabel(event)
  }
  if (event === 'CONSECUTIVE_FAILURES') return `${rule.consecutiveFailures ?? DEFAULT_CONSECUTIVE_FAILURES} failures in a row`
  if (event === 'QUEUE_BACKLOG' && rule.queueBacklogSeconds != null) return `${eventLabel(event)} (> ${limitWords(rule.queueBacklogSeconds)})`
  return eventLabel(event)
}

/** A badge tone for an event in lists: bad news red, good news green. */
export function eventBadgeClass(event: string): string {
  if (event === 'RUN_FAILED' || event === 'RUN_TIMED_OUT' || event === 'CONSECUTIVE_FAILURES' || event === 'WORKER_DOWN') return 'err'
  if (event === 'DURATION_EXCEEDED' || event === 'QUEUE_BACKLOG') return 'warn'
  if (event === 'RUN_RECOVERED' || event === 'RUN_SUCCEEDED' || event === 'WORKER_RECOVERED') return 'ok'
  return ''
}
