'use client'
/**
 * A channel's message templates (Liquid) beside a live preview. The preview is the server's rendering
 * (notificationPreview) of the templates as they are in the editor — unsaved — against a recent run or
 * the sample run, so what it shows is what delivery would send: an email's subject, text and HTML (in a
 * sandboxed frame: no scripts, no network), or an HTTP kind's JSON body. A template problem shows under
 * its field, from the preview as you type or from saving. "Send test" sends one real message through the
 * saved channel and tells the receiver's answer in words.
 */
import { useEffect, useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { useSaveForm } from '@/components/edit-dialog'
import { ErrorAlert, Field, Panel, Spinner } from '@/components/ui'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { testResultWords, type TestResultLike } from '@/lib/notification-channels'
import { htmlPreviewDoc, prettyJson, previewFieldErrors, templateDraft, templatesDirty, templatesInput, templateSlots, TEMPLATE_FIELDS, TEMPLATE_VARIABLES, type TemplateDraft } from '@/lib/notification-templates'
import { eventLabel, NOTIFICATION_EVENTS } from '@/lib/notifications'
import { CreateChannel, NotificationPreviewQuery, SendTestNotification, UpdateChannel, type Channel, type Preview, type RecentRun } from './queries'

const PREVIEW_DELAY_MS = 400
const SAMPLE = ''

/** `value`, once it has stopped changing for `ms`. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value)
  const key = JSON.stringify(value)
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms)
    return () => clearTimeout(t)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, ms])
  return settled
}

export function MessageEditor({ channel, runs, onSaved }: { channel: Channel; runs: readonly RecentRun[]; onSaved(): void }) {
  const slots = templateSlots(channel.kind)
  const [draft, setDraft] = useState<TemplateDraft>(() => templateDraft(channel))
  const [runId, setRunId] = useState(SAMPLE)
  const [event, setEvent] = useState('')
  const form = useSaveForm(CreateChannel, UpdateChannel, { id: channel.id, shown: [...TEMPLATE_FIELDS], onSaved })
  const dirty = templatesDirty(channel.kind, draft, channel)
  const [savedNote, setSavedNote] = useState(false)

  const templates = useSettled(templatesInput(channel.kind, draft), PREVIEW_DELAY_MS)
  const [preview] = useQuery({
    query: NotificationPreviewQuery,
    variables: { channelId: channel.id, jobRunId: runId || null, event: (event || null) as never, templates },
    requestPolicy: 'network-only',
  })
  const previewErrors = toFormErrors(preview.error)
  const byField = previewFieldErrors(previewErrors.fields)
  const shown = preview.data?.notificationPreview ?? null
  const err = (f: (typeof TEMPLATE_FIELDS)[number]) => form.err(f) ?? byField[f]

  const save = async () => {
    setSavedNote(false)
    await form.save(templatesInput(channel.kind, draft) as never)
    setSavedNote(true)
  }

  return (
    <Panel title="Message" actions={<span className="small muted">Liquid templates; blank uses the built-in default.</span>}>
      <div className="message-editor">
        <form
          className="stack"
          noValidate
          aria-label="Message templates"
          onSubmit={(e) => {
            e.preventDefault()
            void save()
          }}
        >
          <ErrorAlert message={form.errors.form} />
          {slots.map((s) => (
            <Field key={s.field} label={s.label} error={err(s.field)} hint={s.hint}>
              {(p) =>
                s.rows === 1 ? (
                  <input {...p} name={s.field} value={draft[s.field]} placeholder={s.placeholder} autoComplete="off" spellCheck={false} onChange={(e) => setDraft((d) => ({ ...d, [s.field]: e.target.value }))} />
                ) : (
                  <textarea
                    {...p}
                    name={s.field}
                    className={s.code ? 'mono' : undefined}
                    rows={s.rows}
                    value={draft[s.field]}
                    placeholder={s.placeholder}
                    spellCheck={false}
                    onChange={(e) => setDraft((d) => ({ ...d, [s.field]: e.target.value }))}
                  />
                )
              }
            </Field>
          ))}
          <details className="small">
            <summary>Variables</summary>
            <dl className="kv" style={{ marginTop: 8 }}>
              {TEMPLATE_VARIABLES.map(([name, what]) => (
                <div key={name} style={{ display: 'contents' }}>
                  <dt className="mono">{name}</dt>
                  <dd>{what}</dd>
                </div>
              ))}
            </dl>
          </details>
          <div className="row wrap">
            <button type="submit" className="btn primary" disabled={form.busy || !dirty}>
              {form.busy ? 'Saving…' : 'Save templates'}
            </button>
            {dirty ? (
              <button type="button" className="btn ghost" onClick={() => setDraft(templateDraft(channel))}>
                Discard changes
              </button>
            ) : null}
            <span className="small muted" role="status">
              {dirty ? 'Unsaved changes: the preview shows them; deliveries use the saved templates.' : savedNote ? 'Templates saved.' : ''}
            </span>
          </div>
        </form>
        <PreviewPane
          channel={channel}
          runs={runs}
          runId={runId}
          setRunId={setRunId}
          event={event}
          setEvent={setEvent}
          preview={shown}
          fetching={preview.fetching}
          error={preview.error && !Object.keys(byField).length ? errorMessage(preview.error) : Object.keys(byField).length ? 'A template has a problem: see the message under it.' : null}
          dirty={dirty}
        />
      </div>
    </Panel>
  )
}

function PreviewPane({
  channel,
  runs,
  runId,
  setRunId,
  event,
  setEvent,
  preview,
  fetching,
  error,
  dirty,
}: {
  channel: Channel
  runs: readonly RecentRun[]
  runId: string
  setRunId(id: string): void
  event: string
  setEvent(e: string): void
  preview: Preview | null
  fetching: boolean
  error: string | null
  dirty: boolean
}) {
  const [testState, sendTest] = useMutation(SendTestNotification)
  const [test, setTest] = useState<TestResultLike | null>(null)
  const [testError, setTestError] = useState<string | null>(null)
  const onTest = async () => {
    setTest(null)
    setTestError(null)
    const r = await sendTest({ channelId: channel.id, jobRunId: runId || null, event: (event || null) as never })
    if (r.error) setTestError(errorMessage(r.error))
    else if (r.data) setTest(r.data.sendTestNotification)
  }
  const words = test ? testResultWords(test, channel.kind) : null

  return (
    <section className="stack message-preview" aria-label="Preview" data-testid="message-preview">
      <div className="grid-2">
        <Field label="Run" hint="A recent run, or the sample run (a failed nightly backup).">
          {(p) => (
            <select {...p} name="previewRun" value={runId} onChange={(e) => setRunId(e.target.value)}>
              <option value={SAMPLE}>Sample run</option>
              {runs.map((r) => (
                <option key={r.id} value={r.id}>
                  #{r.number} {r.templateName} ({r.status.toLowerCase().replace('_', ' ')})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="As event" hint={runId ? 'Default: the run’s own outcome.' : 'Default: run failed.'}>
          {(p) => (
            <select {...p} name="previewEvent" value={event} onChange={(e) => setEvent(e.target.value)}>
              <option value="">{runId ? 'The run’s outcome' : 'Run failed'}</option>
              {NOTIFICATION_EVENTS.map((e) => (
                <option key={e} value={e}>
                  {eventLabel(e)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <div className="preview-box" aria-live="polite" aria-busy={fetching || undefined}>
        <div className="row small muted">
          <span className="grow">{preview ? `Preview: ${eventLabel(preview.event).toLowerCase()}` : 'Preview'}</span>
          {fetching ? <Spinner label="Rendering…" /> : null}
        </div>
        {error ? (
          <div className="alert error small" role="alert" data-testid="preview-error">
            {error}
          </div>
        ) : preview ? (
          preview.body != null ? (
            <pre className="tail preview-body" tabIndex={0} data-testid="preview-body">
              {prettyJson(preview.body)}
            </pre>
          ) : (
            <>
              <div data-testid="preview-subject">
                <span className="small faint">Subject </span>
                <strong>{preview.subject}</strong>
              </div>
              <pre className="tail preview-body" tabIndex={0} data-testid="preview-text">
                {preview.text}
              </pre>
              {preview.html != null ? <iframe className="preview-html" title="HTML part of the message" sandbox="" srcDoc={htmlPreviewDoc(preview.html)} data-testid="preview-html" /> : null}
            </>
          )
        ) : null}
      </div>
      <div className="row wrap">
        <button type="button" className="btn" onClick={() => void onTest()} disabled={testState.fetching}>
          {testState.fetching ? 'Sending…' : 'Send test'}
        </button>
        <span className="small muted">
          Sends one message now{runId ? ' for this run' : ' for the sample run'}, marked as a test{dirty ? ', with the saved templates (save to test your edits)' : ''}.
        </span>
      </div>
      <ErrorAlert message={testError} />
      {words && test ? (
        <div className={`alert ${test.ok ? 'ok' : 'error'}`} role="status" data-testid="test-result" data-ok={test.ok}>
          <strong>{words.title}</strong> {words.detail}
          {test.response ? (
            <>
              <div className="small" style={{ marginTop: 6 }}>
                The {channel.kind === 'EMAIL' ? 'server' : 'receiver'} answered:
              </div>
              <pre className="tail" tabIndex={0} data-testid="test-response">
                {test.response}
              </pre>
            </>
          ) : null}
        </div>
      ) : null}
    </section>
  )
}
