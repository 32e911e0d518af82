'use client'
/**
 * A webhook's signing secrets and their rotation. Each secret is a PASSWORD credential (shown by name,
 * never by value). While two are active every request carries a `v1=` signature for each, current first,
 * so the receiver can switch to the new secret before the old one stops: add the next secret, switch the
 * receiver, retire the old one. The last secret cannot be retired, nor a third added — the buttons offer
 * only what the API allows, and its refusal is shown in its words.
 */
import Link from 'next/link'
import { useState } from 'react'
import { useMutation } from 'urql'
import { ErrorAlert, Field, Panel } from '@/components/ui'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { AddChannelSecret, RetireChannelSecret, type Channel, type ChannelCredential } from './queries'

export function SigningSecrets({ channel, credentials, onChanged }: { channel: Channel; credentials: readonly ChannelCredential[]; onChanged(): void }) {
  const current = channel.secretCredential
  const next = channel.secondarySecretCredential
  const active = new Set([current?.id, next?.id].filter(Boolean))
  const candidates = credentials.filter((c) => c.kind === 'PASSWORD' && !active.has(c.id))
  const [picked, setPicked] = useState('')
  const [addState, add] = useMutation(AddChannelSecret)
  const [retireState, retire] = useMutation(RetireChannelSecret)
  const [fieldError, setFieldError] = useState<string | undefined>()
  const [error, setError] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)

  const onAdd = async () => {
    setError(null)
    setDone(null)
    if (!picked) return setFieldError('Choose the credential that holds the next secret.')
    setFieldError(undefined)
    const r = await add({ id: channel.id, secretCredentialId: picked })
    if (r.error) {
      const e = toFormErrors(r.error)
      if (e.fields.secretCredentialId) setFieldError(e.fields.secretCredentialId)
      else setError(errorMessage(r.error))
      return
    }
    setPicked('')
    setDone('Both secrets sign now. Switch the receiver to the new one, then retire the old one.')
    onChanged()
  }
  const onRetire = async (c: { id: string; name: string }) => {
    setError(null)
    setDone(null)
    const r = await retire({ id: channel.id, secretCredentialId: c.id })
    if (r.error) return setError(errorMessage(r.error))
    setDone(`“${c.name}” no longer signs.`)
    onChanged()
  }

  return (
    <Panel title="Signing secrets">
      <div className="stack">
        <ul className="secret-list" data-testid="signing-secrets">
          {current ? (
            <SecretRow role="current" credential={current} rotating={!!next} busy={retireState.fetching} onRetire={onRetire} />
          ) : (
            <li>
              <span className="badge warn">not set</span> <span className="small">This webhook has no signing secret: add one.</span>
            </li>
          )}
          {next ? <SecretRow role="next" credential={next} rotating busy={retireState.fetching} onRetire={onRetire} /> : null}
        </ul>
        <ErrorAlert message={error} />
        {done ? (
          <div className="alert ok small" role="status">
            {done}
          </div>
        ) : null}
        {next ? (
          <div className="small muted">Two secrets are active: retire one before adding another.</div>
        ) : (
          <Field
            label="Add next secret"
            error={fieldError}
            hint={candidates.length ? 'A password credential holding the new secret; the receiver can verify with either while both are active.' : <>No other password credential: create one with the new secret on the <Link href="/credentials">Credentials</Link> page.</>}
          >
            {(p) => (
              <div className="secret-row">
                <select {...p} name="nextSecretCredentialId" value={picked} onChange={(e) => setPicked(e.target.value)}>
                  <option value="">(choose a password credential)</option>
                  {candidates.map((c) => (
                    <option key={c.id} value={c.id} disabled={!c.canUse}>
                      {c.name}
                      {c.canUse ? '' : ' — not yours to use'}
                    </option>
                  ))}
                </select>
                <button type="button" className="btn" onClick={() => void onAdd()} disabled={addState.fetching}>
                  {addState.fetching ? 'Adding…' : 'Add next secret'}
                </button>
              </div>
            )}
          </Field>
        )}
        <details className="small">
          <summary>How to rotate without dropping a request</summary>
          <ol style={{ margin: '8px 0 0', paddingLeft: 20 }}>
            <li>Create a password credential with the new secret and add it here as the next secret. From then on every request is signed with both (<span className="mono">v1=</span> once per secret, the current one first).</li>
            <li>Switch the receiver to the new secret: it verifies when any <span className="mono">v1=</span> matches.</li>
            <li>Retire the old secret. The next one becomes the current one. The last secret cannot be retired.</li>
          </ol>
        </details>
      </div>
    </Panel>
  )
}

function SecretRow({
  role,
  credential,
  rotating,
  busy,
  onRetire,
}: {
  role: 'current' | 'next'
  credential: { id: string; name: string }
  rotating: boolean
  busy: boolean
  onRetire(c: { id: string; name: string }): void
}) {
  return (
    <li data-secret={role}>
      <span className="badge ok">set</span>
      <span className="grow small">
        <strong>{role === 'current' ? 'Current' : 'Next'}</strong> — credential “{credential.name}”; never shown
        <span className="faint"> · {role === 'current' ? (rotating ? 'signs first' : 'signs every request') : 'signs second, until the old one is retired'}</span>
      </span>
      {rotating ? (
        <button type="button" className="btn sm" disabled={busy} onClick={() => onRetire(credential)} aria-label={`Retire ${role} secret “${credential.name}”`}>
          Retire
        </button>
      ) : null}
    </li>
  )
}
