'use client'
/** Small presentational building blocks shared by every page. */
import Link from 'next/link'
import { useEffect, useId, useState, type ReactNode } from 'react'
import { elapsedMs, formatDateTime, formatDuration, formatRelative } from '@/lib/format'
import { Icons } from './icons'

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-head">
      <div className="titles">
        <h1>{title}</h1>
        {subtitle ? <div className="subtitle">{subtitle}</div> : null}
      </div>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  )
}

export function Panel({ title, actions, children, flush, className }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; flush?: boolean; className?: string }) {
  return (
    <section className={`panel ${className ?? ''}`}>
      {title || actions ? (
        <div className="panel-head">
          <h2>{title}</h2>
          {actions}
        </div>
      ) : null}
      <div className={`panel-body${flush ? ' flush' : ''}`}>{children}</div>
    </section>
  )
}

export function EmptyState({ icon, title, children, action }: { icon?: ReactNode; title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <div className="empty-icon">{icon ?? <Icons.inbox />}</div>
      <h2>{title}</h2>
      {children ? <p>{children}</p> : null}
      {action}
    </div>
  )
}

export function Field({
  label,
  hint,
  error,
  required,
  children,
  htmlFor,
}: {
  label: ReactNode
  hint?: ReactNode
  error?: string | undefined
  required?: boolean
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => ReactNode
  htmlFor?: string
}) {
  const generated = useId()
  const id = htmlFor ?? generated
  const errorId = `${id}-error`
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {required ? <span className="req">*</span> : null}
      </label>
      {children({ id, 'aria-invalid': !!error, 'aria-describedby': error ? errorId : undefined })}
      {error ? (
        <div className="error" id={errorId} role="alert">
          {error}
        </div>
      ) : hint ? (
        <div className="hint">{hint}</div>
      ) : null}
    </div>
  )
}

export function ErrorAlert({ message }: { message: string | null | undefined }) {
  if (!message) return null
  return (
    <div className="alert error" role="alert">
      {message}
    </div>
  )
}

const STATUS_CLASS: Record<string, string> = {
  SUCCEEDED: 'ok',
  FAILED: 'err',
  TIMED_OUT: 'err',
  CANCELLED: 'warn',
  RUNNING: 'accent running',
  QUEUED: 'info',
  PENDING: 'info',
  READY: 'info',
  AWAITING_APPROVAL: 'warn',
  MISSED: '',
  SKIPPED: '',
}

export function statusLabel(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase().replaceAll('_', ' ')
}

const TRIGGER_LABEL: Record<string, string> = { MANUAL: 'Manual', API: 'API', SCHEDULE: 'Schedule', RETRY: 'Retry', WORKFLOW: 'Workflow', DEPENDENCY: 'Dependency', WEBHOOK: 'Webhook' }

/** How a run was started, in words ("API", not "Api"). */
export function triggerLabel(trigger: string): string {
  return TRIGGER_LABEL[trigger] ?? statusLabel(trigger)
}

/** A run or target status in words; `stale` says it is only the last known one (the connection is lost). */
export function StatusBadge({ status, stale }: { status: string; stale?: boolean }) {
  return (
    <span className={`badge ${stale ? '' : (STATUS_CLASS[status] ?? '')}`} data-status={status} data-stale={stale || undefined}>
      {stale ? `Last known: ${statusLabel(status).toLowerCase()}` : statusLabel(status)}
    </span>
  )
}

export const STATUS_COLOR: Record<string, string> = {
  SUCCEEDED: 'var(--ok)',
  FAILED: 'var(--err)',
  TIMED_OUT: '#e8735a',
  CANCELLED: 'var(--warn)',
  RUNNING: 'var(--accent)',
  QUEUED: 'var(--info)',
  MISSED: 'var(--text-faint)',
  SKIPPED: 'var(--text-faint)',
}

/** Targets done: succeeded (green), failed (red) and cancelled (neutral) segments. */
export function Progress({ done, failed, cancelled = 0, total, running, large }: { done: number; failed: number; cancelled?: number; total: number; running?: boolean; large?: boolean }) {
  const pct = (n: number) => (total ? (n / total) * 100 : 0)
  const parts = [failed ? `${failed} failed` : '', cancelled ? `${cancelled} cancelled` : ''].filter(Boolean).join(', ')
  return (
    <div
      className={`progress${large ? ' lg' : ''}${running && done < total ? ' running' : ''}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      aria-label={`${done} of ${total} targets done${parts ? ` (${parts})` : ''}`}
    >
      <span className="p-ok" style={{ width: `${pct(done - failed - cancelled)}%` }} />
      <span className="p-err" style={{ width: `${pct(failed)}%` }} />
      <span className="p-cancel" style={{ width: `${pct(cancelled)}%` }} />
    </div>
  )
}

/** "1 target", "3 targets". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`
}

/** Re-renders every `ms` so relative times and running durations stay current. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(t)
  }, [ms])
  return now
}

export function RelativeTime({ iso }: { iso: string | null | undefined }) {
  const now = useNow(5_000)
  if (!iso) return <span className="faint">—</span>
  return (
    <time dateTime={iso} title={formatDateTime(iso)} suppressHydrationWarning>
      {formatRelative(iso, now)}
    </time>
  )
}

export function LiveDuration({ startedAt, finishedAt, durationMs }: { startedAt: string | null | undefined; finishedAt: string | null | undefined; durationMs?: number | null }) {
  const running = !!startedAt && !finishedAt
  const now = useNow(running ? 1000 : 60_000)
  if (durationMs != null && finishedAt) return <span>{formatDuration(durationMs)}</span>
  return <span>{formatDuration(elapsedMs(startedAt, finishedAt, now))}</span>
}

export function Spinner({ label }: { label?: string }) {
  return (
    <span className="row muted small">
      <span className="spinner" aria-hidden />
      {label}
    </span>
  )
}

export function Skeleton({ rows = 4 }: { rows?: number }) {
  return (
    <div className="stack" style={{ padding: 16 }} aria-busy>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${90 - i * 9}%` }} />
      ))}
    </div>
  )
}

export function Tags({ tags }: { tags: readonly string[] }) {
  if (!tags.length) return <span className="faint">—</span>
  return (
    <span>
      {tags.map((t) => (
        <span key={t} className="tag">
          {t}
        </span>
      ))}
    </span>
  )
}

export function BackLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <Link href={href} className="small muted">
      ← {children}
    </Link>
  )
}
