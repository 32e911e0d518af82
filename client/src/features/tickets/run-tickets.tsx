'use client'
/**
 * A run's tickets, with links into the tracker, and — on a failed run, for operators and admins — "Create
 * ticket": a dialog prefilled with the run's summary, failed targets and log tail (the server's draft),
 * a tracker and a priority, each error next to its field. A ticket's issue is made by the server's outbox,
 * so a new ticket shows "being created" until the tracker answered; the list refreshes until then.
 * "Comment" adds an operator's note to the ticket's issue the same way.
 */
import { useEffect, useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { EditDialog } from '@/components/edit-dialog'
import { useSessionContext } from '@/components/session-provider'
import { Field, Panel, RelativeTime } from '@/components/ui'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { CloseTicketMutation, CommentTicketMutation, CreateTicketMutation, PRIORITIES, priorityLabel, ReopenTicketMutation, RunTicketsQuery, TicketDialogQuery, type Ticket } from './queries'

const CTX = { additionalTypenames: ['Ticket'] }
const REFRESH_MS = 3000

export function RunTickets({ runId, failed }: { runId: string; failed: boolean }) {
  const { canWrite } = useSessionContext()
  const [result, refetch] = useQuery({ query: RunTicketsQuery, variables: { id: runId }, context: CTX })
  const [creating, setCreating] = useState(false)
  const tickets = result.data?.jobRun.tickets ?? []
  const pending = tickets.some((t) => t.actions.some((a) => a.status === 'PENDING'))
  // The outbox works in the background: look again while something is on its way to the tracker.
  useEffect(() => {
    if (!pending) return
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), REFRESH_MS)
    return () => clearInterval(timer)
  }, [pending, refetch])
  if (!tickets.length && !(failed && canWrite)) return null
  return (
    <Panel
      title={`Tickets${tickets.length ? ` (${tickets.length})` : ''}`}
      actions={
        failed && canWrite ? (
          <button type="button" className="btn sm" onClick={() => setCreating(true)}>
            Create ticket
          </button>
        ) : undefined
      }
    >
      {tickets.length ? (
        <ul className="stack" style={{ listStyle: 'none', margin: 0, padding: 0, gap: 8 }} data-testid="run-tickets">
          {tickets.map((t) => (
            <TicketRow key={t.id} ticket={t} canWrite={canWrite} onChanged={() => refetch({ requestPolicy: 'network-only' })} />
          ))}
        </ul>
      ) : (
        <p className="small muted" style={{ margin: 0 }}>
          No ticket yet. “Create ticket” opens one in a tracker with this run’s summary, failed targets and log tail.
        </p>
      )}
      {creating ? (
        <CreateTicketDialog
          runId={runId}
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false)
            refetch({ requestPolicy: 'network-only' })
          }}
        />
      ) : null}
    </Panel>
  )
}

function TicketRow({ ticket: t, canWrite, onChanged }: { ticket: Ticket; canWrite: boolean; onChanged(): void }) {
  const [closeState, close] = useMutation(CloseTicketMutation)
  const [reopenState, reopen] = useMutation(ReopenTicketMutation)
  const [error, setError] = useState<string | null>(null)
  const [commenting, setCommenting] = useState(false)
  const failedAction = [...t.actions].reverse().find((a) => a.status === 'FAILED')
  const pending = t.actions.some((a) => a.status === 'PENDING')
  const toggle = async () => {
    setError(null)
    const r = t.status === 'OPEN' ? await close({ id: t.id }) : await reopen({ id: t.id })
    if (r.error) setError(toFormErrors(r.error).form ?? 'Could not change the ticket')
    else onChanged()
  }
  return (
    <li className="row" data-ticket={t.title} style={{ flexWrap: 'wrap', gap: 8, alignItems: 'center' }}>
      <span className={`badge plain ${t.status === 'OPEN' ? 'warn' : 'ok'}`}>{t.status === 'OPEN' ? 'Open' : 'Closed'}</span>
      {t.url ? (
        <a href={t.url} target="_blank" rel="noreferrer" style={{ fontWeight: 600 }} data-testid="ticket-link">
          {t.tracker.name} #{t.externalId}
        </a>
      ) : (
        <span style={{ fontWeight: 600 }}>
          {t.tracker.name}
          {t.externalId ? ` #${t.externalId}` : ''}
        </span>
      )}
      <span className="grow small">
        {t.title} <span className="muted">· {priorityLabel(t.priority)} · <RelativeTime iso={t.createdAt} /></span>
      </span>
      {pending ? <span className="small muted" data-testid="ticket-pending">{t.externalId ? 'updating the tracker…' : 'being created…'}</span> : null}
      {failedAction ? (
        <span className="small" style={{ color: 'var(--err)' }} data-testid="ticket-error">
          {failedAction.kind.toLowerCase()} failed: {failedAction.lastError}
        </span>
      ) : null}
      {canWrite ? (
        <button type="button" className="btn sm ghost" onClick={() => setCommenting(true)} aria-label={`Comment on ${t.title}`}>
          Comment
        </button>
      ) : null}
      {canWrite ? (
        <button type="button" className="btn sm ghost" onClick={() => void toggle()} disabled={closeState.fetching || reopenState.fetching}>
          {t.status === 'OPEN' ? 'Close' : 'Reopen'}
        </button>
      ) : null}
      {error ? <span className="small" role="alert" style={{ color: 'var(--err)' }}>{error}</span> : null}
      {commenting ? (
        <CommentDialog
          ticket={t}
          onClose={() => setCommenting(false)}
          onDone={() => {
            setCommenting(false)
            onChanged()
          }}
        />
      ) : null}
    </li>
  )
}

/** A note of the operator's, added to the ticket's issue in the tracker by the outbox. */
function CommentDialog({ ticket, onClose, onDone }: { ticket: Ticket; onClose(): void; onDone(): void }) {
  const [state, comment] = useMutation(CommentTicketMutation)
  const [body, setBody] = useState('')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const submit = async () => {
    if (!body.trim()) return setErrors({ form: null, fields: { body: 'A comment is required.' }, code: null })
    const r = await comment({ id: ticket.id, body })
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), ['body']))
    else onDone()
  }
  return (
    <EditDialog title={`Comment on ${ticket.tracker.name}${ticket.externalId ? ` #${ticket.externalId}` : ''}`} submitLabel="Add comment" busyLabel="Adding…" form={{ busy: state.fetching, errors }} onClose={onClose} onSubmit={submit}>
      <Field label="Comment" required error={fieldError(errors, 'body')} hint="Sent to the tracker as a note on the issue.">
        {(p) => <textarea {...p} name="body" rows={6} maxLength={20_000} value={body} onChange={(e) => setBody(e.target.value)} autoFocus />}
      </Field>
    </EditDialog>
  )
}

const SHOWN = ['trackerId', 'title', 'description', 'priority', 'jobRunId']

function CreateTicketDialog({ runId, onClose, onCreated }: { runId: string; onClose(): void; onCreated(): void }) {
  const [draft] = useQuery({ query: TicketDialogQuery, variables: { jobRunId: runId }, requestPolicy: 'network-only' })
  const [state, create] = useMutation(CreateTicketMutation)
  const [trackerId, setTrackerId] = useState('')
  const [title, setTitle] = useState<string | null>(null)
  const [description, setDescription] = useState<string | null>(null)
  const [priority, setPriority] = useState<string | null>(null)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const d = draft.data
  const trackers = d?.ticketTrackers ?? []
  const chosenTracker = trackerId || (trackers.length === 1 ? trackers[0]!.id : '')
  const err = (f: string) => fieldError(errors, f)
  const loadError = draft.error ? toFormErrors(draft.error).form : null

  const submit = async () => {
    const fields: Record<string, string> = {}
    if (!chosenTracker) fields.trackerId = 'Choose a tracker.'
    const t = (title ?? d?.ticketDraft.title ?? '').trim()
    if (!t) fields.title = 'A title is required.'
    if (Object.keys(fields).length) return setErrors({ form: null, fields, code: null })
    const r = await create({ input: { jobRunId: runId, trackerId: chosenTracker, title: t, description: description ?? d?.ticketDraft.description ?? '', priority: (priority ?? d?.ticketDraft.priority ?? 'NORMAL') as (typeof PRIORITIES)[number] } })
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), SHOWN))
    else onCreated()
  }

  return (
    <EditDialog title="Create ticket" submitLabel="Create ticket" busyLabel="Creating…" form={{ busy: state.fetching || draft.fetching, errors: loadError ? { ...errors, form: loadError } : errors }} onClose={onClose} onSubmit={submit}>
      <Field label="Tracker" required error={err('trackerId')} hint={d && !trackers.length ? 'No ticket tracker is set up: an admin adds one under Notifications → Tickets.' : undefined}>
        {(p) => (
          <select {...p} name="trackerId" value={chosenTracker} onChange={(e) => setTrackerId(e.target.value)}>
            <option value="">(choose a tracker)</option>
            {trackers.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.kind === 'REDMINE' ? 'Redmine' : 'webhook'})
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Title" required error={err('title')}>
        {(p) => <input {...p} name="title" maxLength={255} value={title ?? d?.ticketDraft.title ?? ''} onChange={(e) => setTitle(e.target.value)} autoFocus />}
      </Field>
      <Field label="Priority" error={err('priority')}>
        {(p) => (
          <select {...p} name="priority" value={priority ?? d?.ticketDraft.priority ?? 'NORMAL'} onChange={(e) => setPriority(e.target.value)}>
            {PRIORITIES.map((x) => (
              <option key={x} value={x}>
                {priorityLabel(x)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Description" error={err('description')} hint="Prefilled with the run’s summary, failed targets and the end of its log; edit freely.">
        {(p) => <textarea {...p} name="description" className="mono" rows={12} value={description ?? d?.ticketDraft.description ?? ''} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
    </EditDialog>
  )
}
