'use client'
/**
 * API tokens, for scripts, dashboards and other GraphQL clients. The account page lists your own
 * (`ApiTokensPanel`); the users page shows an admin anyone's, with the same table and revoke dialog.
 * The secret is shown once, in the dialog that created it: it lives only in that dialog's state and
 * is gone when the dialog closes.
 */
import { EditDialog } from '@/components/edit-dialog'
import { useRef, useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { EmptyState, ErrorAlert, Field, Panel, RelativeTime, Skeleton, useNow } from '@/components/ui'
import { parseExpiryDays, roleLabel, sortTokens, tokenStatus, type Role, type TokenStatus } from '@/lib/account'
import { errorMessage, fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { graphql, type ResultOf } from '@/lib/graphql'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_API_TOKEN = { additionalTypenames: ['ApiToken'] }

/** What a token list shows: never the token itself (the API has no field for it). */
export const ApiTokenFields = graphql(`fragment ApiTokenFields on ApiToken { id name prefix createdAt lastUsedAt expiresAt revokedAt }`)
export type ApiToken = ResultOf<typeof ApiTokenFields>

const ApiTokensQuery = graphql(`query ApiTokens { apiTokens { ...ApiTokenFields } }`, [ApiTokenFields])
const CreateApiToken = graphql(`mutation CreateApiToken($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { ...ApiTokenFields } } }`, [ApiTokenFields])
const RevokeApiToken = graphql(`mutation RevokeApiToken($id: ID!) { revokeApiToken(id: $id) { ...ApiTokenFields } }`, [ApiTokenFields])

const STATUS: Record<TokenStatus, { label: string; className: string }> = {
  active: { label: 'Active', className: 'ok' },
  expired: { label: 'Expired', className: 'warn' },
  revoked: { label: 'Revoked', className: '' },
}

export function ApiTokensPanel({ role }: { role: Role }) {
  const [result, refetch] = useQuery({ query: ApiTokensQuery, context: CTX_API_TOKEN })
  const [creating, setCreating] = useState(false)
  const [revoking, setRevoking] = useState<ApiToken | null>(null)
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const list = result.data?.apiTokens
  const newButton = (label: string, small?: boolean) => (
    <button className={`btn primary${small ? ' sm' : ''}`} onClick={() => setCreating(true)}>
      <Icons.plus /> {label}
    </button>
  )

  return (
    <>
      <Panel title="API tokens" flush actions={list?.length ? newButton('New token', true) : null}>
        {result.error && !list ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form} />
          </div>
        ) : !list ? (
          <Skeleton />
        ) : list.length === 0 ? (
          <EmptyState title="No API tokens yet" icon={<Icons.key />} action={newButton('Create a token')}>
            Scripts, dashboards and other GraphQL clients sign in with a token, sent as <code>Authorization: Bearer &lt;token&gt;</code>. A token acts as
            you, with your role ({roleLabel(role)}).
          </EmptyState>
        ) : (
          <>
            <div className="small muted" style={{ padding: '10px 12px', borderBottom: '1px solid var(--border)' }}>
              Send a token as <code>Authorization: Bearer &lt;token&gt;</code>. It acts as you, with your role ({roleLabel(role)}). Only its first characters are kept
              readable.
            </div>
            <ApiTokenTable tokens={list} onRevoke={setRevoking} />
          </>
        )}
      </Panel>
      {creating ? <CreateTokenDialog onCreated={reload} onClose={() => setCreating(false)} /> : null}
      <RevokeApiTokenDialog
        token={revoking}
        onClose={() => setRevoking(null)}
        onRevoked={() => {
          setRevoking(null)
          reload()
        }}
      />
    </>
  )
}

/**
 * A table of tokens: name, prefix, created, last used, expiry and status, active ones first, with a
 * Revoke button on the active ones. Revoke only calls `onRevoke`: the caller asks first
 * (`RevokeApiTokenDialog`) and reloads.
 */
export function ApiTokenTable({ tokens, onRevoke }: { tokens: readonly ApiToken[]; onRevoke(token: ApiToken): void }) {
  const now = useNow(30_000)
  return (
    <table className="table" data-testid="api-tokens-table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Token</th>
          <th>Created</th>
          <th>Last used</th>
          <th>Expires</th>
          <th>Status</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {sortTokens(tokens, now).map((t) => {
          const status = tokenStatus(t, now)
          return (
            <tr key={t.id} data-token={t.name} data-token-status={status} className={status === 'active' ? undefined : 'inactive'}>
              <td style={{ fontWeight: 600 }}>{t.name}</td>
              <td className="mono">{t.prefix}…</td>
              <td className="small">
                <RelativeTime iso={t.createdAt} />
              </td>
              <td className="small" data-testid="token-last-used">
                {t.lastUsedAt ? <RelativeTime iso={t.lastUsedAt} /> : <span className="faint">Never</span>}
              </td>
              <td className="small">{t.expiresAt ? <RelativeTime iso={t.expiresAt} /> : <span className="faint">Never</span>}</td>
              <td>
                <span className={`badge ${STATUS[status].className}`} data-testid="token-status" title={t.revokedAt ? `Revoked ${formatDateTime(t.revokedAt)}` : undefined}>
                  {STATUS[status].label}
                </span>
              </td>
              <td className="actions">
                {status === 'active' ? (
                  <button className="btn sm danger-ghost" aria-label={`Revoke ${t.name}`} onClick={() => onRevoke(t)}>
                    Revoke
                  </button>
                ) : null}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

/**
 * Asks before revoking `token` (closed while it is null), then revokes it. `owner` names whose token
 * it is when it is not yours (an admin revoking someone else's: they stay signed in, their other
 * tokens keep working).
 */
export function RevokeApiTokenDialog({ token, owner, onClose, onRevoked }: { token: ApiToken | null; owner?: string; onClose(): void; onRevoked(): void }) {
  const [state, revoke] = useMutation(RevokeApiToken)
  return (
    <ConfirmDialog
      open={!!token}
      title={owner ? `Revoke ${owner}’s API token “${token?.name}”?` : `Revoke API token “${token?.name}”?`}
      confirmLabel="Revoke token"
      danger
      busy={state.fetching}
      error={errorMessage(state.error)}
      onClose={onClose}
      onConfirm={async () => {
        const r = await revoke({ id: token!.id })
        if (!r.error) onRevoked()
      }}
    >
      {owner ? (
        <>
          Anything still using <code>{token?.prefix}…</code> is refused from now on; {owner} stays signed in and their other tokens keep working. This cannot be undone:{' '}
          {owner} can create a new token if they still need one. The audit log records that you revoked it.
        </>
      ) : (
        <>
          Anything still using <code>{token?.prefix}…</code> is refused from now on. This cannot be undone: create a new token to give access again.
        </>
      )}
    </ConfirmDialog>
  )
}

/** Asks for a name and an expiry, then shows the new secret once. Unmounted on close, taking the secret with it. */
function CreateTokenDialog({ onCreated, onClose }: { onCreated(): void; onClose(): void }) {
  const [name, setName] = useState('')
  const [days, setDays] = useState('')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [created, setCreated] = useState<{ name: string; token: string; expiresAt: string | null } | null>(null)
  const [copied, setCopied] = useState<'copied' | 'manual' | null>(null)
  const [state, create] = useMutation(CreateApiToken)
  const secretRef = useRef<HTMLInputElement>(null)
  const err = (f: string) => fieldError(errors, f)

  const submit = async () => {
    const expiry = parseExpiryDays(days)
    if (expiry.error !== undefined) return setErrors({ form: null, fields: { expiresInDays: expiry.error }, code: null })
    setErrors(NO_ERRORS)
    const r = await create({ input: { name, expiresInDays: expiry.value } })
    if (r.error || !r.data) return setErrors(withUnclaimed(toFormErrors(r.error), ['name', 'expiresInDays']))
    setCreated({ name: r.data.createApiToken.apiToken.name, token: r.data.createApiToken.token, expiresAt: r.data.createApiToken.apiToken.expiresAt })
    onCreated()
  }

  const copy = async () => {
    if (!created) return
    try {
      await navigator.clipboard.writeText(created.token)
      setCopied('copied')
    } catch {
      // No clipboard API (plain http on another host) or no permission: select it for Ctrl+C.
      secretRef.current?.focus()
      secretRef.current?.select()
      setCopied(document.execCommand?.('copy') ? 'copied' : 'manual')
    }
  }

  if (created) {
    return (
      <Modal
        open
        title={`API token “${created.name}” created`}
        onClose={onClose}
        footer={
          <button type="button" className="btn primary" onClick={onClose}>
            Done
          </button>
        }
      >
        <div className="alert warn" role="status">
          <strong>Copy this token now: you won’t see it again.</strong> Switchyard keeps only a hash of it. If you lose it, revoke it and create a new one.
        </div>
        <Field
          label="Token"
          hint={
            copied === 'copied' ? (
              'Copied to the clipboard.'
            ) : copied === 'manual' ? (
              'Selected: press Ctrl+C (⌘C) to copy it.'
            ) : (
              <>
                Send it as <code>Authorization: Bearer &lt;token&gt;</code>.{' '}
                {created.expiresAt ? `It expires ${formatDateTime(created.expiresAt)}.` : 'It does not expire; revoke it when it is no longer needed.'}
              </>
            )
          }
        >
          {(p) => (
            <div className="secret-row">
              <input
                {...p}
                ref={secretRef}
                name="token"
                data-testid="new-api-token"
                className="mono"
                readOnly
                value={created.token}
                spellCheck={false}
                autoComplete="off"
                onFocus={(e) => e.currentTarget.select()}
              />
              <button type="button" className="btn" onClick={() => void copy()} data-autofocus>
                {copied === 'copied' ? <Icons.check /> : <Icons.copy />} {copied === 'copied' ? 'Copied' : 'Copy'}
              </button>
            </div>
          )}
        </Field>
      </Modal>
    )
  }

  return (
    <EditDialog wide={false} title="New API token" submitLabel="Create token" busyLabel="Creating…" form={{ busy: state.fetching, errors }} onClose={onClose} onSubmit={submit}>
      <Field label="Name" required error={err('name')} hint="What uses it, e.g. “grafana” or “nightly report script”.">
        {(p) => <input {...p} name="name" value={name} autoComplete="off" onChange={(e) => setName(e.target.value)} autoFocus />}
      </Field>
      <Field label="Expires after (days)" error={err('expiresInDays')} hint="Leave empty for a token that does not expire.">
        {(p) => <input {...p} name="expiresInDays" inputMode="numeric" placeholder="never" value={days} onChange={(e) => setDays(e.target.value)} style={{ maxWidth: 160 }} />}
      </Field>
    </EditDialog>
  )
}
