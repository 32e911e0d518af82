'use client'
/** Users and their roles (admins only): create, change role or password, disable and enable. */
import Link from 'next/link'
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { Segmented } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Field, PageHeader, Panel, RelativeTime, Skeleton } from '@/components/ui'
import { roleBadgeClass, roleDescription, roleLabel, ROLES, userActions, userPatch, type Role } from '@/lib/account'
import { errorMessage, fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { graphql, type ResultOf } from '@/lib/graphql'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_USER = { additionalTypenames: ['User'] }

const UserFields = graphql(`fragment UserFields on User { id username role disabled createdAt }`)
type User = ResultOf<typeof UserFields>

const UsersQuery = graphql(`query Users { users { ...UserFields } }`, [UserFields])
const CreateUser = graphql(`mutation CreateUser($input: CreateUserInput!) { createUser(input: $input) { ...UserFields } }`, [UserFields])
const UpdateUser = graphql(`mutation UpdateUser($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { ...UserFields } }`, [UserFields])

const ROLE_OPTIONS = ROLES.map((r) => ({ value: r.value, label: r.label }))

export function UsersPage() {
  useTitle('Users')
  const { isAdmin, session } = useSessionContext()
  const [result, refetch] = useQuery({ query: UsersQuery, context: CTX_USER, pause: !isAdmin })
  const [editing, setEditing] = useState<User | 'new' | null>(null)
  const [disabling, setDisabling] = useState<User | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)
  const [disableState, disable] = useMutation(UpdateUser)
  const [enableState, enableUser] = useMutation(UpdateUser)
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const list = result.data?.users

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
                    <td className="small">
                      <RelativeTime iso={u.createdAt} />
                    </td>
                    <td className="actions">
                      {me ? (
                        <span className="small faint" title="You cannot change your own role or disable yourself">
                          Change your password on <Link href="/account">your account</Link>
                        </span>
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
    <Modal
      open
      title="New user"
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={state.fetching}>
            {state.fetching ? 'Saving…' : 'Create user'}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
      <Field label="Username" required error={err('username')} hint="Letters, digits and . _ @ -">
        {(p) => <input {...p} name="username" className="mono" value={username} autoComplete="off" onChange={(e) => setUsername(e.target.value)} autoFocus />}
      </Field>
      <Field label="Initial password" required error={err('password')} hint="At least 8 characters. Give it to them safely; they can change it on their account page.">
        {(p) => <input {...p} name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
      <RoleField value={role} onChange={setRole} error={err('role')} />
    </Modal>
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
    <Modal
      open
      title={`Edit user “${user.username}”`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={state.fetching}>
            {state.fetching ? 'Saving…' : 'Save'}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
      <RoleField value={role} onChange={setRole} error={err('role')} />
      <Field label="New password" error={err('password')} hint="Leave empty to keep theirs. A new password signs them out of every session; their API tokens keep working.">
        {(p) => <input {...p} name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
    </Modal>
  )
}
