'use client'
/**
 * A write-only secret held in a PASSWORD credential (a webhook's signing secret; later an SMTP login): the
 * form never sees the secret, only whether one is set and which credential holds it. A set secret shows
 * as "set" with a Replace button that opens the picker; an unset one shows the picker straight away.
 */
import Link from 'next/link'
import { useState } from 'react'
import { Field } from '@/components/ui'

export interface SecretCredentialOption {
  id: string
  name: string
  kind: string
  canUse: boolean
}

export function SecretCredentialField({
  label,
  name,
  current,
  credentials,
  value,
  onChange,
  error,
  required,
  hint,
  noneLabel = '(choose a password credential)',
}: {
  label: string
  /** The input's name (the API's field, e.g. `secretCredentialId`). */
  name: string
  /** The credential the saved item uses now; null when none is set (or the item is new). */
  current: { id: string; name: string } | null
  credentials: readonly SecretCredentialOption[]
  value: string
  onChange(id: string): void
  error?: string | undefined
  required?: boolean
  hint: string
  /** The empty choice's text (an optional secret says what none means). */
  noneLabel?: string
}) {
  const [replacing, setReplacing] = useState(false)
  const passwords = credentials.filter((c) => c.kind === 'PASSWORD')
  const showPicker = !current || replacing || !!error
  return (
    <Field
      label={label}
      required={required}
      error={error}
      hint={showPicker ? (passwords.length ? hint : <>No password credentials yet: add one on the <Link href="/credentials">Credentials</Link> page.</>) : undefined}
    >
      {(p) =>
        showPicker ? (
          <div className="secret-row">
            <select {...p} name={name} value={value} onChange={(e) => onChange(e.target.value)}>
              <option value="">{noneLabel}</option>
              {passwords.map((c) => (
                <option key={c.id} value={c.id} disabled={!c.canUse && c.id !== value}>
                  {c.name}
                  {c.canUse ? '' : ' — not yours to use'}
                </option>
              ))}
            </select>
            {current && replacing ? (
              <button
                type="button"
                className="btn"
                onClick={() => {
                  onChange(current.id)
                  setReplacing(false)
                }}
              >
                Keep current
              </button>
            ) : null}
          </div>
        ) : (
          <div className="secret-row" data-testid={`${name}-state`}>
            <span className="badge ok">set</span>
            <span className="small muted grow" style={{ alignSelf: 'center' }}>
              stored in credential “{current.name}”; never shown
            </span>
            <button type="button" id={p.id} className="btn sm" aria-label={`Replace ${label.toLowerCase()}`} onClick={() => setReplacing(true)}>
              Replace
            </button>
          </div>
        )
      }
    </Field>
  )
}

/** "set" / "not set" for a list cell. */
export function SecretState({ credential }: { credential: { name: string } | null }) {
  return credential ? (
    <span className="badge ok" title={`In credential “${credential.name}”`}>
      set
    </span>
  ) : (
    <span className="badge warn">not set</span>
  )
}
