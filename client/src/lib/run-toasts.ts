/**
 * The toasts for "a run you started or watch ended" (myJobRunsEnded): what a toast says (status in
 * words, not only colour), and the list of toasts — each run once, however often the server sends it
 * (a resumed subscription repeats what ended meanwhile; a reloaded page remembers what it showed).
 */

export interface EndedRun {
  /** A job run (default) or a workflow run. */
  kind?: 'job' | 'workflow'
  id: string
  number: number
  status: string
  /** The template's name (a workflow run: the workflow's). */
  templateName: string
  durationMs?: number | null
  error?: string | null
}

export type ToastTone = 'ok' | 'err' | 'warn'

export interface RunToast {
  runId: string
  href: string
  title: string
  /** The outcome in words, e.g. "Failed", "Timed out". */
  statusWord: string
  /** One line after the title: "failed after 3 s: connection refused". */
  detail: string
  tone: ToastTone
}

const WORDS: Record<string, { word: string; tone: ToastTone }> = {
  SUCCEEDED: { word: 'Succeeded', tone: 'ok' },
  FAILED: { word: 'Failed', tone: 'err' },
  TIMED_OUT: { word: 'Timed out', tone: 'err' },
  CANCELLED: { word: 'Cancelled', tone: 'warn' },
}

export function formatRunDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}

export function toastFor(run: EndedRun): RunToast {
  const w = WORDS[run.status] ?? { word: run.status.charAt(0) + run.status.slice(1).toLowerCase().replaceAll('_', ' '), tone: 'warn' as const }
  const after = run.durationMs != null ? ` after ${formatRunDuration(run.durationMs)}` : ''
  const why = run.status !== 'SUCCEEDED' && run.error ? `: ${run.error.length > 140 ? `${run.error.slice(0, 139)}…` : run.error}` : ''
  const workflow = run.kind === 'workflow'
  return {
    runId: run.id,
    href: workflow ? `/workflow-runs/${run.id}` : `/runs/${run.id}`,
    title: `${workflow ? 'Workflow run' : 'Run'} #${run.number} · ${run.templateName}`,
    statusWord: w.word,
    detail: `${w.word}${after}${why}`,
    tone: w.tone,
  }
}

/** At most this many on screen; older ones go first (the runs page has them all). */
export const MAX_TOASTS = 4
const SEEN_LIMIT = 200

export interface ToastState {
  toasts: RunToast[]
  /** Run ids already shown (oldest first), so a repeated end never toasts twice. */
  seen: string[]
}

/** `quiet`: the run's own page is open, which shows its end already: remembered, not toasted. */
export type ToastAction = { type: 'ended'; run: EndedRun; quiet?: boolean } | { type: 'dismiss'; runId: string } | { type: 'dismissAll' }

export function toastReducer(state: ToastState, action: ToastAction): ToastState {
  switch (action.type) {
    case 'ended': {
      if (state.seen.includes(action.run.id)) return state
      const seen = [...state.seen, action.run.id].slice(-SEEN_LIMIT)
      if (action.quiet) return { ...state, seen }
      return { seen, toasts: [...state.toasts, toastFor(action.run)].slice(-MAX_TOASTS) }
    }
    case 'dismiss':
      return { ...state, toasts: state.toasts.filter((t) => t.runId !== action.runId) }
    case 'dismissAll':
      return { ...state, toasts: [] }
  }
}

/** The shown run ids, kept for the tab's session (a reload does not toast a run again). */
export const SEEN_KEY = 'switchyard.toasts.seen'

export function loadSeen(storage: Pick<Storage, 'getItem'> | null): string[] {
  try {
    const v = JSON.parse(storage?.getItem(SEEN_KEY) ?? '[]') as unknown
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(-SEEN_LIMIT) : []
  } catch {
    return []
  }
}

export function saveSeen(storage: Pick<Storage, 'setItem'> | null, seen: readonly string[]): void {
  try {
    storage?.setItem(SEEN_KEY, JSON.stringify(seen.slice(-SEEN_LIMIT)))
  } catch {
    // Storage full or blocked: toasts still work, a reload may show one again.
  }
}

/** A workflow run as myWorkflowRunsEnded sends it, as a toast's run (duration from its times). */
export function endedWorkflowRun(w: { id: string; number: number; status: string; workflowName: string; createdAt: string; finishedAt: string | null; error: string | null }): EndedRun {
  const ms = w.finishedAt ? Date.parse(w.finishedAt) - Date.parse(w.createdAt) : null
  return { kind: 'workflow', id: w.id, number: w.number, status: w.status, templateName: w.workflowName, durationMs: ms !== null && Number.isFinite(ms) ? ms : null, error: w.error }
}

/**
 * Whether this browser shows run toasts (the Account page's switch; on unless turned off). Kept in the
 * browser, not the account: a wall display may want none while a laptop wants them.
 */
export const ENABLED_KEY = 'switchyard.toasts'
/** Sent on window when the switch changes in this tab (other tabs get the storage event). */
export const ENABLED_EVENT = 'switchyard-toasts-changed'

export function toastsEnabled(storage: Pick<Storage, 'getItem'> | null): boolean {
  try {
    return storage?.getItem(ENABLED_KEY) !== 'off'
  } catch {
    return true
  }
}

export function setToastsEnabled(storage: Pick<Storage, 'setItem'> | null, on: boolean): void {
  try {
    storage?.setItem(ENABLED_KEY, on ? 'on' : 'off')
  } catch {
    // Storage blocked: the switch does not stick.
  }
}
