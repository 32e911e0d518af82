'use client'
/** The signed-in user's own page: who they are, their password and their API tokens. */
import Link from 'next/link'
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { ErrorAlert, Field, PageHeader, Panel, Skeleton } from '@/components/ui'
import { passwordFormErrors, roleBadgeClass, roleDescription, roleLabel } from '@/lib/account'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { graphql } from '@/lib/graphql'
import { useToastsEnabled } from '@/features/runs/run-toasts'
import { ApiTokensPanel } from './api-tokens'

const MeQuery = graphql(`query Me { me { id username role disabled createdAt } }`)
const ChangePassword = graphql(`mutation ChangePassword($currentPassword: String!, $newPassword: String!) { changePassword(currentPassword: $currentPassword, newPassword: $newPassword) }`)

export function AccountPage() {
  useTitle('Account')
  const { session } = useSessionContext()
  const [result] = useQuery({ query: MeQuery })
  const me = result.data?.me
  const role = me?.role ?? session.user.role

  return (
    <>
      <PageHeader title="Account" subtitle="Who you are, your password, and the API tokens other tools use to act as you." />
      <div className="grid-2" style={{ alignItems: 'start' }}>
        <Panel title="Profile">
          {result.error && !me ? (
            <ErrorAlert message={toFormErrors(result.error).form} />
          ) : !me ? (
            <Skeleton rows={3} />
          ) : (
            <div className="stack">
              <dl className="kv" data-testid="profile">
                <dt>Username</dt>
                <dd className="mono" data-testid="profile-username">
                  {me.username}
                </dd>
                <dt>Role</dt>
                <dd>
                  <span className={`badge ${roleBadgeClass(me.role)}`} data-testid="profile-role">
                    {roleLabel(me.role)}
                  </span>{' '}
                  <span className="small muted">{roleDescription(me.role)}</span>
                </dd>
                <dt>Member since</dt>
                <dd>{formatDateTime(me.createdAt)}</dd>
              </dl>
              <div className="small faint">
                {role === 'ADMIN' ? (
                  <>
                    Roles are managed on the <Link href="/users">Users</Link> page.
                  </>
                ) : (
                  'Your role is set by an admin. Ask one if you need more access.'
                )}
              </div>
            </div>
          )}
        </Panel>
        <ChangePasswordPanel username={me?.username ?? session.user.username} />
      </div>
      <ToastsPanel />
      <ApiTokensPanel role={role} />
    </>
  )
}

/** The run toasts switch, for this browser (features/runs/run-toasts.tsx). */
function ToastsPanel() {
  const [on, setOn] = useToastsEnabled()
  return (
    <Panel title="Notifications in this browser">
      <div className="stack">
        <label className="check">
          <input type="checkbox" role="switch" name="runToasts" checked={on} onChange={(e) => setOn(e.target.checked)} /> Show a toast when a run I started or watch ends
        </label>
        <div className="small faint">Kept in this browser only: a wall display can have none while your laptop shows them.</div>
      </div>
    </Panel>
  )
}

function ChangePasswordPanel({ username }: { username: string }) {
  const [currentPassword, setCurrentPassword] = useState('')
  const [newPassword, setNewPassword] = useState('')
  const [confirmPassword, setConfirmPassword] = useState('')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [done, setDone] = useState(false)
  const [state, change] = useMutation(ChangePassword)
  const err = (f: string) => fieldError(errors, f)

  const submit = async () => {
    setDone(false)
    const own = passwordFormErrors({ currentPassword, newPassword, confirmPassword })
    if (Object.keys(own).length) return setErrors({ form: null, fields: own, code: null })
    setErrors(NO_ERRORS)
    const r = await change({ currentPassword, newPassword })
    if (r.error) return setErrors(withUnclaimed(toFormErrors(r.error), ['currentPassword', 'newPassword']))
    setCurrentPassword('')
    setNewPassword('')
    setConfirmPassword('')
    setDone(true)
  }

  return (
    <Panel title="Change password">
      <form
        className="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        {/* For password managers: which account this password belongs to. */}
        <input type="text" name="account-username" autoComplete="username" value={username} readOnly hidden />
        <ErrorAlert message={errors.form} />
        {done ? (
          <div className="alert ok" role="status" data-testid="password-changed">
            Password changed. Your other sessions were signed out; this one stays signed in.
          </div>
        ) : null}
        <Field label="Current password" required error={err('currentPassword')}>
          {(p) => <input {...p} name="currentPassword" type="password" autoComplete="current-password" value={currentPassword} onChange={(e) => setCurrentPassword(e.target.value)} />}
        </Field>
        <div className="grid-2">
          <Field label="New password" required error={err('newPassword')} hint="At least 8 characters.">
            {(p) => <input {...p} name="newPassword" type="password" autoComplete="new-password" value={newPassword} onChange={(e) => setNewPassword(e.target.value)} />}
          </Field>
          <Field label="Confirm new password" required error={err('confirmPassword')}>
            {(p) => <input {...p} name="confirmPassword" type="password" autoComplete="new-password" value={confirmPassword} onChange={(e) => setConfirmPassword(e.target.value)} />}
          </Field>
        </div>
        <div className="small faint">Changing it signs you out everywhere else. Your API tokens keep working.</div>
        <div>
          <button type="submit" className="btn primary" disabled={state.fetching}>
            {state.fetching ? 'Saving…' : 'Change password'}
          </button>
        </div>
      </form>
    </Panel>
  )
}
