'use client'
/**
 * Toasts for job runs and workflow runs the user started or watches, as they end (myJobRunsEnded,
 * myWorkflowRunsEnded), on every console page.
 * Polite live region (announced without interrupting), each toast says the outcome in words and links
 * to the run, stays until dismissed (no timer to race: WCAG 2.2.1), and its Dismiss button and link
 * are in the tab order; Escape on a toast dismisses it. The run whose page is open is not toasted (the
 * page shows its end). The Account page turns them off for this browser. A run is toasted once per browser tab session,
 * however often the server sends it (see lib/run-toasts.ts).
 */
import Link from 'next/link'
import { usePathname } from 'next/navigation'
import { useEffect, useReducer, useState } from 'react'
import { useSubscription } from 'urql'
import { ENABLED_EVENT, endedWorkflowRun, loadSeen, saveSeen, setToastsEnabled, toastReducer, toastsEnabled, type EndedRun, type ToastState } from '@/lib/run-toasts'
import { MyRunsEndedSubscription, MyWorkflowRunsEndedSubscription } from './queries'

const TONE_BADGE = { ok: 'ok', err: 'err', warn: 'warn' } as const

function sessionStore(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.sessionStorage
  } catch {
    return null
  }
}

function localStore(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage
  } catch {
    return null
  }
}

/** This browser's switch (Account page), followed live across tabs. */
export function useToastsEnabled(): [boolean, (on: boolean) => void] {
  const [on, setOn] = useState(() => toastsEnabled(localStore()))
  useEffect(() => {
    const sync = () => setOn(toastsEnabled(localStore()))
    window.addEventListener('storage', sync)
    window.addEventListener(ENABLED_EVENT, sync)
    return () => {
      window.removeEventListener('storage', sync)
      window.removeEventListener(ENABLED_EVENT, sync)
    }
  }, [])
  const set = (value: boolean) => {
    setToastsEnabled(localStore(), value)
    window.dispatchEvent(new Event(ENABLED_EVENT))
  }
  return [on, set]
}

export function RunToasts() {
  const [enabled] = useToastsEnabled()
  return enabled ? <RunToastRegion /> : null
}

function RunToastRegion() {
  // Ends since the page opened: a resumed subscription (after a lost connection) sends what ended
  // meanwhile, and the reducer drops runs already shown.
  const [since] = useState(() => new Date().toISOString())
  const pathname = usePathname()
  const [state, dispatch] = useReducer(toastReducer, undefined, (): ToastState => ({ toasts: [], seen: loadSeen(sessionStore()) }))
  // Every message is kept (not only the latest), so two ends arriving together both become toasts.
  const [r] = useSubscription({ query: MyRunsEndedSubscription, variables: { since } }, (prev: EndedRun[] | undefined, data) => [...(prev ?? []).slice(-20), data.myJobRunsEnded])
  const [w] = useSubscription({ query: MyWorkflowRunsEndedSubscription, variables: { since } }, (prev: EndedRun[] | undefined, data) => [...(prev ?? []).slice(-20), endedWorkflowRun(data.myWorkflowRunsEnded)])
  useEffect(() => {
    // Re-dispatching runs already handled is harmless: the reducer shows each run once.
    for (const run of r.data ?? []) dispatch({ type: 'ended', run, quiet: pathname === `/runs/${run.id}` })
  }, [r.data])
  useEffect(() => {
    for (const run of w.data ?? []) dispatch({ type: 'ended', run, quiet: pathname === `/workflow-runs/${run.id}` })
  }, [w.data])
  useEffect(() => saveSeen(sessionStore(), state.seen), [state.seen])

  return (
    <div className="toast-region" data-testid="toast-region">
      <ol className="toast-list" aria-live="polite" aria-label="Run notifications">
        {state.toasts.map((t) => (
          <li
            key={t.runId}
            className="toast"
            data-tone={t.tone}
            data-testid="toast"
            data-run={t.runId}
            onKeyDown={(e) => {
              if (e.key === 'Escape') dispatch({ type: 'dismiss', runId: t.runId })
            }}
          >
            <span className={`badge ${TONE_BADGE[t.tone]}`}>{t.statusWord}</span>
            <div className="toast-body">
              <Link href={t.href} onClick={() => dispatch({ type: 'dismiss', runId: t.runId })}>
                {t.title}
              </Link>
              <div className="small muted">{t.detail}</div>
            </div>
            <button type="button" className="btn ghost sm icon" aria-label={`Dismiss: ${t.title}, ${t.statusWord.toLowerCase()}`} onClick={() => dispatch({ type: 'dismiss', runId: t.runId })}>
              <span aria-hidden>×</span>
            </button>
          </li>
        ))}
      </ol>
      {state.toasts.length > 1 ? (
        <button type="button" className="btn sm toast-dismiss-all" onClick={() => dispatch({ type: 'dismissAll' })}>
          Dismiss all
        </button>
      ) : null}
    </div>
  )
}
