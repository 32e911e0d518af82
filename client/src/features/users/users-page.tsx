'use client'
/**
 * Users and their roles (admins only): create, change role or password, disable and enable, and see
 * and revoke a user's API tokens (a leaked token is revoked without disabling its user).
 */
import { EditDialog } from '@/components/edit-dialog'
import Link from 'next/link'
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { Segmented } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Field, PageHeader, Panel, RelativeTime, Skeleton, useNow } from '@/components/ui'
import { ApiTokenFields, ApiTokenTable, RevokeApiTokenDialog, type ApiToken } from '@/features/account/api-tokens'
import { roleBadgeClass, roleDescription, roleLabel, ROLES, tokenSummary, userActions, userPatch, type Role } from '@/lib/account'
import { errorMessage, fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { graphql, type ResultOf } from '@/lib/graphql'

/** Stable (a new context object per render would re-run the query forever). Tokens made or revoked elsewhere refresh it too. */
const CTX_USER = { additionalTypenames: ['User', 'ApiToken'] }

const UserFields = graphql(`fragment UserFields on User { id username role disabled createdAt }`)
type User = ResultOf<typeof UserFields>

// Every user's API tokens (admins see anyone's: `User.apiTokens`), for the table's summary and the tokens dialog.
const UsersQuery = graphql(`query Users { users { ...UserFields apiTokens { ...ApiTokenFields } } }`, [UserFields, ApiTokenFields])
const CreateUser = graphql(`mutation CreateUser($input: CreateUserInput!) { createUser(input: $input) { ...UserFields } }`, [UserFields])
const UpdateUser = graphql(`mutation UpdateUser($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { ...UserFields } }`, [UserFields])

const ROLE_OPTIONS = ROLES.map((r) => ({ value: r.value, label: r.label }))

export function UsersPage() {
  useTitle('Users')
  const { isAdmin, session } = useSessionContext()
  const [result, refetch] = useQuery({ query: UsersQuery, context: CTX_USER, pause: !isAdmin })
  const [editing, setEditing] = useState<User | 'new' | null>(null)
  const [tokensOf, setTokensOf] = useState<string | null>(null)
  const [disabling, setDisabling] = useState<User | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)
  const [disableState, disable] = useMutation(UpdateUser)
  const [enableState, enableUser] = useMutation(UpdateUser)
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const list = result.data?.users
  const now = useNow(30_000)
  // Read from the list, so a revoke's reload shows in the open dialog.
  const tokensUser = tokensOf ? list?.find((u) => u.id === tokensOf) : undefined

  if (!isAdmin) {
    return (
      <>
        <PageHeader title="Users" />
        <Panel>
          <EmptyState
            title="Admins only"
            icon={<Icons.shield />}
            action={
              <Link className="btn" href="/account">
                <Icons.user /> Your account
              </Link>
            }
          >
            Managing users and roles is for admins. You are signed in as {session.user.username} ({roleLabel(session.user.role)}); your password and API
            tokens are on your account page.
          </EmptyState>
        </Panel>
      </>
    )
  }

  const enable = async (u: User) => {
    setActionError(null)
    const r = await enableUser({ id: u.id, input: { disabled: false } })
    if (r.error) setActionError(errorMessage(r.error))
    else reload()
  }

  return (
    <>
      <PageHeader
        title="Users"
        subtitle="Who can sign in, and what they may do. Viewers only look, operators run and change things, admins also manage users."
        actions={
          <button className="btn primary" onClick={() => setEditing('new')}>
            <Icons.plus /> New user
          </button>
        }
      />
      <ErrorAlert message={actionError} />
      <Panel flush>
        {result.error && !list ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form} />
          </div>
        ) : !list ? (
          <Skeleton />
        ) : list.length === 0 ? (
          <EmptyState title="No users" icon={<Icons.users />} />
        ) : (
          <table className="table" data-testid="users-table">
            <thead>
              <tr>
                <th>Username</th>
                <th>Role</th>
                <th>Status</th>
                <th>API tokens</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((u) => {
                const can = userActions(u, session.user.id)
                const me = u.id === session.user.id
                return (
                  <tr key={u.id} data-user={u.username} className={u.disabled ? 'inactive' : undefined}>
                    <td>
                      <span className="mono" style={{ fontWeight: 600 }}>
                        {u.username}
                      </span>
                      {me ? <span className="badge plain" style={{ marginLeft: 8 }}>you</span> : null}
                    </td>
                    <td>
                      <span className={`badge ${roleBadgeClass(u.role)}`} data-testid="user-role" title={roleDescription(u.role)}>
                        {roleLabel(u.role)}
                      </span>
                    </td>
                    <td>
                      <span className={`badge ${u.disabled ? 'err' : 'ok'}`} data-testid="user-status">
                        {u.disabled ? 'Disabled' : 'Active'}
                      </span>
                    </td>
                    <td className="small" data-testid="user-tokens">
                      {u.apiTokens ? tokenSummary(u.apiTokens, now) : <span className="faint">—</span>}
                    </td>
                    <td className="small">
                      <RelativeTime iso={u.createdAt} />
                    </td>
                    <td className="actions">
                      {me ? (
                        <span className="small faint" title="You cannot change your own role or disable yourself">
                          Change your password on <Link href="/account">your account</Link>
                        </span>
                      ) : null}
                      {can.tokens ? (
                        <button className="btn sm ghost" aria-label={`API tokens of ${u.username}`} onClick={() => setTokensOf(u.id)}>
                          <Icons.key /> Tokens
                        </button>
                      ) : null}
                      {can.edit ? (
                        <button className="btn sm ghost icon" aria-label={`Edit ${u.username}`} onClick={() => setEditing(u)}>
                          <Icons.edit />
                        </button>
                      ) : null}
                      {can.disable ? (
                        <button className="btn sm ghost" aria-label={`Disable ${u.username}`} onClick={() => setDisabling(u)}>
                          Disable
                        </button>
                      ) : null}
                      {can.enable ? (
                        <button className="btn sm ghost" aria-label={`Enable ${u.username}`} disabled={enableState.fetching} onClick={() => void enable(u)}>
                          Enable
                        </button>
                      ) : null}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        )}
      </Panel>
      {editing === 'new' ? (
        <CreateUserForm
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null)
            reload()
          }}
        />
      ) : editing ? (
        <EditUserForm
          user={editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null)
            reload()
          }}
        />
      ) : null}
      {tokensUser ? <UserTokensDialog user={tokensUser} tokens={tokensUser.apiTokens ?? []} onChanged={reload} onClose={() => setTokensOf(null)} /> : null}
      <ConfirmDialog
        open={!!disabling}
        title={`Disable user “${disabling?.username}”?`}
        confirmLabel="Disable user"
        danger
        busy={disableState.fetching}
        error={errorMessage(disableState.error)}
        onClose={() => setDisabling(null)}
        onConfirm={async () => {
          const r = await disable({ id: disabling!.id, input: { disabled: true } })
          if (!r.error) {
            setDisabling(null)
            reload()
          }
        }}
      >
        They are signed out everywhere, cannot sign in, and their API tokens are refused. Their templates, schedules and runs stay. You can enable them again later.
      </ConfirmDialog>
    </>
  )
}

/**
 * A user's API tokens, for an admin answering "this token leaked": when each was last used, and Revoke
 * (asks first). The list comes from the page's query, reloaded by `onChanged`.
 */
function UserTokensDialog({ user, tokens, onChanged, onClose }: { user: User; tokens: readonly ApiToken[]; onChanged(): void; onClose(): void }) {
  const [revoking, setRevoking] = useState<ApiToken | null>(null)
  return (
    <>
      <Modal
        open
        wide
        title={`API tokens of “${user.username}”`}
        onClose={onClose}
        footer={
          <button type="button" className="btn" onClick={onClose}>
            Close
          </button>
        }
      >
        <div className="small muted">
          Each token acts as {user.username}, with their role ({roleLabel(user.role)}). Revoking one refuses it at once; {user.username} stays signed in and their other
          tokens keep working. {user.disabled ? 'While they are disabled, none of their tokens works. ' : ''}Sessions are not listed: disabling the user or resetting
          their password ends those.
        </div>
        {tokens.length ? (
          <ApiTokenTable tokens={tokens} onRevoke={setRevoking} />
        ) : (
          <EmptyState title="No API tokens" icon={<Icons.key />}>
            {user.username} has not created any.
          </EmptyState>
        )}
      </Modal>
      <RevokeApiTokenDialog
        token={revoking}
        owner={user.username}
        onClose={() => setRevoking(null)}
        onRevoked={() => {
          setRevoking(null)
          onChanged()
        }}
      />
    </>
  )
}

function RoleField({ value, onChange, error }: { value: Role; onChange(r: Role): void; error: string | undefined }) {
  return (
    <Field label="Role" required error={error} hint={`${roleLabel(value)}: ${roleDescription(value)}.`}>
      {() => <Segmented label="Role" value={value} onChange={onChange} options={ROLE_OPTIONS} />}
    </Field>
  )
}

function CreateUserForm({ onClose, onSaved }: { onClose(): void; onSaved(): void }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [role, setRole] = useState<Role>('VIEWER')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [state, create] = useMutation(CreateUser)
  const err = (f: string) => fieldError(errors, f)

  const submit = async () => {
    const r = await create({ input: { username, password, role } })
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), ['username', 'password', 'role']))
    else onSaved()
  }

  return (
    <EditDialog wide={false} title="New user" submitLabel="Create user" form={{ busy: state.fetching, errors }} onClose={onClose} onSubmit={submit}>
      <Field label="Username" required error={err('username')} hint="Letters, digits and . _ @ -">
        {(p) => <input {...p} name="username" className="mono" value={username} autoComplete="off" onChange={(e) => setUsername(e.target.value)} autoFocus />}
      </Field>
      <Field label="Initial password" required error={err('password')} hint="At least 8 characters. Give it to them safely; they can change it on their account page.">
        {(p) => <input {...p} name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
      <RoleField value={role} onChange={setRole} error={err('role')} />
    </EditDialog>
  )
}

function EditUserForm({ user, onClose, onSaved }: { user: User; onClose(): void; onSaved(): void }) {
  const [role, setRole] = useState<Role>(user.role)
  const [password, setPassword] = useState('')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [state, update] = useMutation(UpdateUser)
  const err = (f: string) => fieldError(errors, f)

  const submit = async () => {
    const input = userPatch(user, { role, password })
    if (!Object.keys(input).length) return onClose()
    const r = await update({ id: user.id, input })
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), ['role', 'password']))
    else onSaved()
  }

  return (
    <EditDialog wide={false} title={`Edit user “${user.username}”`} submitLabel="Save" form={{ busy: state.fetching, errors }} onClose={onClose} onSubmit={submit}>
      <RoleField value={role} onChange={setRole} error={err('role')} />
      <Field label="New password" error={err('password')} hint="Leave empty to keep theirs. A new password signs them out of every session; their API tokens keep working.">
        {(p) => <input {...p} name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
    </EditDialog>
  )
}
