'use client'
/**
 * "Who may use" a credential, for its owner and admins: the grants (users and roles allowed to name it in
 * templates and targets — never to read it), revoke one, grant another. The grants come from the page's
 * query (`useGrants`), reloaded by `onChanged`.
 */
import { useState } from 'react'
import { useMutation } from 'urql'
import { Modal } from '@/components/dialog'
import { Segmented } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { EmptyState, ErrorAlert, Field, RelativeTime } from '@/components/ui'
import { roleBadgeClass, roleLabel } from '@/lib/account'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { graphql, type ResultOf } from '@/lib/graphql'

export const UseGrantFields = graphql(`fragment UseGrantFields on CredentialUseGrant { id role createdAt user { id username } }`)
type UseGrant = ResultOf<typeof UseGrantFields>

const GrantUse = graphql(`mutation GrantCredentialUse($credentialId: ID!, $username: String, $role: Role) { grantCredentialUse(credentialId: $credentialId, username: $username, role: $role) { id } }`)
const RevokeUse = graphql(`mutation RevokeCredentialUse($credentialId: ID!, $userId: ID, $role: Role) { revokeCredentialUse(credentialId: $credentialId, userId: $userId, role: $role) { id } }`)

type GranteeRole = 'OPERATOR' | 'VIEWER'

export function UseGrantsDialog({
  credential,
  grants,
  onChanged,
  onClose,
}: {
  credential: { id: string; name: string; owner: { username: string } }
  grants: readonly UseGrant[]
  onChanged(): void
  onClose(): void
}) {
  const [kind, setKind] = useState<'user' | 'role'>('user')
  const [username, setUsername] = useState('')
  const [role, setRole] = useState<GranteeRole>('OPERATOR')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [revokeError, setRevokeError] = useState<string | null>(null)
  const [grantState, grant] = useMutation(GrantUse)
  const [, revoke] = useMutation(RevokeUse)

  const submit = async () => {
    const r = await grant(kind === 'user' ? { credentialId: credential.id, username: username.trim() } : { credentialId: credential.id, role })
    if (r.error) return setErrors(withUnclaimed(toFormErrors(r.error), ['username', 'role']))
    setErrors(NO_ERRORS)
    setUsername('')
    onChanged()
  }
  const remove = async (g: UseGrant) => {
    const r = await revoke(g.user ? { credentialId: credential.id, userId: g.user.id } : { credentialId: credential.id, role: g.role })
    setRevokeError(r.error ? toFormErrors(r.error).form : null)
    if (!r.error) onChanged()
  }

  return (
    <Modal
      open
      wide
      title={`Who may use “${credential.name}”`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="btn primary" disabled={grantState.fetching || (kind === 'user' && !username.trim())}>
            <Icons.plus /> Grant use
          </button>
        </>
      }
    >
      <div className="small muted">
        Using a credential means naming it in a job template or setting it on a target; nobody can read it back. Its owner ({credential.owner.username}) and admins
        may always use it. Revoking takes effect at once: the next run of a template that relies on it fails before the secret is opened.
      </div>
      <ErrorAlert message={revokeError} />
      {grants.length ? (
        <table className="table" data-testid="use-grants-table">
          <thead>
            <tr>
              <th>Who</th>
              <th>Granted</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {grants.map((g) => (
              <tr key={g.id} data-grant={g.user?.username ?? g.role}>
                <td>{g.user ? <span className="mono">{g.user.username}</span> : <span className={roleBadgeClass(g.role ?? '')}>every {roleLabel(g.role ?? '')}</span>}</td>
                <td className="small">
                  <RelativeTime iso={g.createdAt} />
                </td>
                <td className="actions">
                  <button type="button" className="btn sm ghost" onClick={() => void remove(g)} aria-label={`Revoke use by ${g.user?.username ?? g.role}`}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <EmptyState title="Only the owner and admins" icon={<Icons.key />}>
          Nobody else may use this credential yet.
        </EmptyState>
      )}
      <ErrorAlert message={errors.form} />
      <Field label="Grant use to" error={fieldError(errors, 'userId')}>
        {() => (
          <Segmented
            label="Grant use to"
            value={kind}
            onChange={setKind}
            options={[
              { value: 'user', label: 'A user' },
              { value: 'role', label: 'A role' },
            ]}
          />
        )}
      </Field>
      {kind === 'user' ? (
        <Field label="Username" required error={fieldError(errors, 'username')}>
          {(p) => <input {...p} name="username" className="mono" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />}
        </Field>
      ) : (
        <Field label="Role" error={fieldError(errors, 'role')} hint="Every user with this role, now and later.">
          {() => (
            <Segmented
              label="Role"
              value={role}
              onChange={setRole}
              options={[
                { value: 'OPERATOR', label: 'Operators' },
                { value: 'VIEWER', label: 'Viewers' },
              ]}
            />
          )}
        </Field>
      )}
    </Modal>
  )
}
