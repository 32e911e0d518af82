'use client'
/**
 * A template's or a workflow's inbound webhook endpoints (on its page): each with its mapping, signing and
 * limits, enable/disable, rotate token, edit, delete, "how to call it" and its recent calls with links to
 * the runs they started. Endpoints are their owner's and admins': others see only their own, and viewers
 * none. There is no subscription for calls: the list reloads every few seconds while the page is open.
 */
import Link from 'next/link'
import { useEffect, useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { useEditor } from '@/components/edit-dialog'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { EmptyState, ErrorAlert, Panel, RelativeTime, Skeleton, StatusBadge } from '@/components/ui'
import { apiOrigin } from '@/lib/api-url'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { bytesInWords, callOutcomeLabel, curlSnippet, exampleBody, mappingRows, webhookUrl } from '@/lib/webhooks'
import { DeleteWebhookEndpoint, RotateWebhookEndpointToken, UpdateWebhookEndpoint, WebhookEndpointsQuery, type WebhookCall, type WebhookEndpoint } from './queries'
import { WebhookForm, type NewToken, type WebhookTarget } from './webhook-form'
import { WebhookTokenDialog } from './webhook-token-dialog'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_WEBHOOKS = { additionalTypenames: ['WebhookEndpoint', 'Credential'] }
const RELOAD_MS = 5000

export function WebhookEndpointsPanel({ target }: { target: WebhookTarget }) {
  const { canWrite } = useSessionContext()
  const variables = target.kind === 'TEMPLATE' ? { templateId: target.id } : { workflowId: target.id }
  const [result, refetch] = useQuery({ query: WebhookEndpointsQuery, variables, context: CTX_WEBHOOKS, pause: !canWrite })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const editor = useEditor<WebhookEndpoint>(reload)
  const deletion = useConfirmAction<WebhookEndpoint>(DeleteWebhookEndpoint, { onDone: reload })
  const [rotating, setRotating] = useState<WebhookEndpoint | null>(null)
  const [rotateState, rotate] = useMutation(RotateWebhookEndpointToken)
  const [, update] = useMutation(UpdateWebhookEndpoint)
  const [token, setToken] = useState<{ token: NewToken; rotated: boolean } | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)
  const [flipping, setFlipping] = useState<Record<string, boolean>>({})
  const list = result.data?.webhookEndpoints
  const hasEndpoints = !!list?.length

  // New calls show up without a reload of the page.
  useEffect(() => {
    if (!hasEndpoints) return
    const t = setInterval(() => refetch({ requestPolicy: 'network-only' }), RELOAD_MS)
    return () => clearInterval(t)
  }, [hasEndpoints, refetch])

  // Viewers may not create endpoints and have none: nothing to show them.
  if (!canWrite) return null
  const newButton = (label: string, small?: boolean) => (
    <button type="button" className={`btn${small ? ' sm' : ' primary'}`} onClick={editor.create}>
      <Icons.plus /> {label}
    </button>
  )

  return (
    <>
      <Panel title="Webhook endpoints" actions={hasEndpoints ? newButton('New endpoint', true) : undefined}>
        <div className="stack" data-testid="webhook-endpoints">
          <ErrorAlert message={actionError} />
          {result.error && !list ? (
            <ErrorAlert message={toFormErrors(result.error).form} />
          ) : !list ? (
            <Skeleton rows={2} />
          ) : list.length === 0 ? (
            <EmptyState title="No webhook endpoints" icon={<Icons.inbox />} action={newButton('Create an endpoint')}>
              An endpoint is a secret URL another system (a Git server, monitoring) POSTs JSON to, to start this {target.kind === 'TEMPLATE' ? 'template' : 'workflow'} as you, with
              parameters taken from the body.
            </EmptyState>
          ) : (
            list.map((e) => (
              <EndpointCard
                key={e.id}
                endpoint={e}
                target={target}
                enabled={flipping[e.id] ?? e.enabled}
                flipping={e.id in flipping}
                onToggle={async (next) => {
                  setActionError(null)
                  setFlipping((f) => ({ ...f, [e.id]: next }))
                  const r = await update({ id: e.id, input: { enabled: next } })
                  if (r.error) setActionError(errorMessage(r.error))
                  setFlipping(({ [e.id]: _, ...rest }) => rest)
                }}
                onRotate={() => setRotating(e)}
                onEdit={() => editor.edit(e)}
                onDelete={() => deletion.ask(e)}
              />
            ))
          )}
        </div>
      </Panel>
      {editor.isOpen ? (
        <WebhookForm
          endpoint={editor.item}
          target={target}
          credentials={result.data?.credentials ?? []}
          onClose={editor.close}
          onSaved={editor.saved}
          onCreated={(t) => {
            editor.saved()
            setToken({ token: t, rotated: false })
          }}
        />
      ) : null}
      {token ? <WebhookTokenDialog token={token.token} rotated={token.rotated} parameters={target.parameters} onClose={() => setToken(null)} /> : null}
      <ConfirmDialog
        open={!!rotating}
        title={`Rotate the token of “${rotating?.name}”?`}
        confirmLabel="Rotate token"
        danger
        busy={rotateState.fetching}
        error={errorMessage(rotateState.error)}
        onClose={() => setRotating(null)}
        onConfirm={async () => {
          const r = await rotate({ id: rotating!.id })
          if (r.error || !r.data) return
          const e = r.data.rotateWebhookEndpointToken.endpoint
          setRotating(null)
          reload()
          setToken({ rotated: true, token: { endpointName: e.name, path: r.data.rotateWebhookEndpointToken.path, signed: !!e.secretCredential, rows: mappingRows(e.parameterMapping) } })
        }}
      >
        The endpoint gets a new URL, shown once. The current URL stops working at once: whatever calls it must be given the new one.
      </ConfirmDialog>
      <ConfirmDialog {...deletion.dialog} title={`Delete webhook endpoint “${deletion.item?.name}”?`} confirmLabel="Delete endpoint" danger>
        Its URL stops working at once and its call log goes with it. Runs it started stay.
      </ConfirmDialog>
    </>
  )
}

function EndpointCard({
  endpoint: e,
  target,
  enabled,
  flipping,
  onToggle,
  onRotate,
  onEdit,
  onDelete,
}: {
  endpoint: WebhookEndpoint
  target: WebhookTarget
  enabled: boolean
  flipping: boolean
  onToggle(next: boolean): void
  onRotate(): void
  onEdit(): void
  onDelete(): void
}) {
  const rows = mappingRows(e.parameterMapping)
  const placeholderUrl = webhookUrl(apiOrigin(), '/hooks/<token shown when created or rotated>')
  return (
    <article className="trigger-card" data-webhook={e.name} aria-label={`Webhook endpoint ${e.name}`}>
      <div className="trigger-card-head">
        <strong className="grow">{e.name}</strong>
        <span className={`badge ${enabled ? 'ok' : ''}`}>{enabled ? 'Enabled' : 'Disabled'}</span>
        {e.secretCredential ? (
          <span className="badge ok" title={`Signed with the password of credential “${e.secretCredential.name}”`}>
            Signed
          </span>
        ) : (
          <span className="badge warn">Unsigned</span>
        )}
      </div>
      <div className="small muted">
        {rows.length ? (
          <>
            Parameters:{' '}
            {rows.map((r, i) => (
              <span key={r.parameter}>
                {i ? ', ' : ''}
                <span className="mono">{r.parameter}</span> {r.source === 'path' ? '← ' : '= '}
                <span className="mono">{r.text}</span>
              </span>
            ))}
          </>
        ) : (
          'No parameters mapped (defaults apply).'
        )}{' '}
        · up to {e.rateLimitPerMinute} calls a minute · bodies up to {bytesInWords(e.maxBodyBytes)}
        {e.secretCredential ? ` · signatures within ${e.replayWindowSeconds} s` : ''} · owned by {e.owner.username} · last called{' '}
        {e.lastCalledAt ? <RelativeTime iso={e.lastCalledAt} /> : 'never'}
      </div>
      <div className="row wrap" style={{ gap: 8 }}>
        <label className="check">
          <input type="checkbox" role="switch" aria-label={`${e.name} enabled`} checked={enabled} disabled={flipping} onChange={(ev) => onToggle(ev.target.checked)} /> Enabled
        </label>
        <span className="grow" />
        <button type="button" className="btn sm" onClick={onRotate}>
          <Icons.key /> Rotate token
        </button>
        <button type="button" className="btn sm ghost icon" aria-label={`Edit ${e.name}`} onClick={onEdit}>
          <Icons.edit />
        </button>
        <button type="button" className="btn sm ghost icon" aria-label={`Delete ${e.name}`} onClick={onDelete}>
          <Icons.trash />
        </button>
      </div>
      <details>
        <summary>How to call it</summary>
        <pre className="snippet" tabIndex={0}>
          {curlSnippet({ url: placeholderUrl, signed: !!e.secretCredential, body: exampleBody(rows, target.parameters) })}
        </pre>
        <p className="small muted" style={{ margin: '6px 0 0' }}>
          The URL’s token was shown once, when the endpoint was created or its token rotated. Lost it? Rotate the token for a new URL.
        </p>
      </details>
      <details open={e.recentCalls.length > 0}>
        <summary>Recent calls ({e.recentCalls.length})</summary>
        {e.recentCalls.length ? <CallsTable calls={e.recentCalls} name={e.name} /> : <p className="small muted" style={{ margin: 0 }}>No calls yet.</p>}
      </details>
    </article>
  )
}

const OUTCOME_CLASS: Record<string, string> = { STARTED: 'ok', SKIPPED: '', REJECTED: 'err' }

function CallsTable({ calls, name }: { calls: readonly WebhookCall[]; name: string }) {
  return (
    <div className="table-scroll">
      <table className="table" data-testid="webhook-calls" aria-label={`Recent calls of ${name}`}>
        <thead>
          <tr>
            <th>Received</th>
            <th>Outcome</th>
            <th>HTTP</th>
            <th>Reason</th>
            <th>Delivery id</th>
            <th>Run</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((c, i) => (
            <tr key={`${c.receivedAt}-${i}`} data-outcome={c.outcome}>
              <td className="small" title={formatDateTime(c.receivedAt)}>
                <RelativeTime iso={c.receivedAt} />
              </td>
              <td>
                <span className={`badge ${OUTCOME_CLASS[c.outcome] ?? ''}`}>{callOutcomeLabel(c.outcome)}</span>
              </td>
              <td className="mono small">{c.httpStatus}</td>
              <td className="small">{c.reason ?? <span className="faint">—</span>}</td>
              <td className="mono small truncate" style={{ maxWidth: 200 }} title={c.deliveryId ?? undefined}>
                {c.deliveryId ?? <span className="faint">—</span>}
              </td>
              <td className="small">
                {c.jobRun ? (
                  <span className="row" style={{ gap: 6 }}>
                    <Link href={`/runs/${c.jobRun.id}`}>Run #{c.jobRun.number}</Link>
                    <StatusBadge status={c.jobRun.status} />
                  </span>
                ) : c.workflowRun ? (
                  <span className="row" style={{ gap: 6 }}>
                    <Link href={`/workflow-runs/${c.workflowRun.id}`}>Workflow run #{c.workflowRun.number}</Link>
                    <StatusBadge status={c.workflowRun.status} />
                  </span>
                ) : (
                  <span className="faint">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
