'use client'
/** SSH credentials. Secrets are write-only: the API never returns them, the form only replaces them. */
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { Segmented } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Field, PageHeader, Panel, RelativeTime, Skeleton } from '@/components/ui'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { graphql, type ResultOf } from '@/lib/graphql'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_CREDENTIAL = { additionalTypenames: ['Credential'] }


const CredentialFields = graphql(`
  fragment CredentialFields on Credential { id name kind username description hasPassphrase updatedAt owner { id username } }
`)
type Credential = ResultOf<typeof CredentialFields>

const CredentialsQuery = graphql(`query Credentials { credentials { ...CredentialFields } }`, [CredentialFields])
const CreateCredential = graphql(`mutation CreateCredential($input: CreateCredentialInput!) { createCredential(input: $input) { ...CredentialFields } }`, [CredentialFields])
const UpdateCredential = graphql(`mutation UpdateCredential($id: ID!, $input: UpdateCredentialInput!) { updateCredential(id: $id, input: $input) { ...CredentialFields } }`, [CredentialFields])
const DeleteCredential = graphql(`mutation DeleteCredential($id: ID!) { deleteCredential(id: $id) }`)

export function CredentialsPage() {
  useTitle('Credentials')
  const { canWrite } = useSessionContext()
  const [result, refetch] = useQuery({ query: CredentialsQuery, context: CTX_CREDENTIAL })
  const [editing, setEditing] = useState<Credential | 'new' | null>(null)
  const [deleting, setDeleting] = useState<Credential | null>(null)
  const [delState, del] = useMutation(DeleteCredential)
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const list = result.data?.credentials

  return (
    <>
      <PageHeader
        title="Credentials"
        subtitle="SSH passwords and keys, encrypted at rest. Secrets can be replaced but never read back."
        actions={
          canWrite ? (
            <button className="btn primary" onClick={() => setEditing('new')}>
              <Icons.plus /> New credential
            </button>
          ) : null
        }
      />
      <Panel flush>
        {result.error && !list ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form} />
          </div>
        ) : !list ? (
          <Skeleton />
        ) : list.length === 0 ? (
          <EmptyState
            title="No credentials yet"
            icon={<Icons.credentials />}
            action={canWrite ? <button className="btn primary" onClick={() => setEditing('new')}><Icons.plus /> Add a credential</button> : null}
          >
            Targets log in with a credential: a username with a password or a private key. Add one, then attach it to your targets.
          </EmptyState>
        ) : (
          <table className="table" data-testid="credentials-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Username</th>
                <th>Owner</th>
                <th>Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.id} data-credential={c.name}>
                  <td>
                    <div style={{ fontWeight: 600 }}>{c.name}</div>
                    {c.description ? <div className="small faint">{c.description}</div> : null}
                  </td>
                  <td>
                    <span className="badge plain">{c.kind === 'PASSWORD' ? 'Password' : c.hasPassphrase ? 'Private key + passphrase' : 'Private key'}</span>
                  </td>
                  <td className="mono">{c.username}</td>
                  <td className="small">{c.owner.username}</td>
                  <td className="small">
                    <RelativeTime iso={c.updatedAt} />
                  </td>
                  <td className="actions">
                    {canWrite ? (
                      <>
                        <button className="btn sm ghost icon" aria-label={`Edit ${c.name}`} onClick={() => setEditing(c)}>
                          <Icons.edit />
                        </button>
                        <button className="btn sm ghost icon" aria-label={`Delete ${c.name}`} onClick={() => setDeleting(c)}>
                          <Icons.trash />
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
      {editing ? (
        <CredentialForm
          credential={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null)
            reload()
          }}
        />
      ) : null}
      <ConfirmDialog
        open={!!deleting}
        title={`Delete credential “${deleting?.name}”?`}
        confirmLabel="Delete credential"
        danger
        busy={delState.fetching}
        error={delState.error ? toFormErrors(delState.error).form : null}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const r = await del({ id: deleting!.id })
          if (!r.error) {
            setDeleting(null)
            reload()
          }
        }}
      >
        Targets using it will have no credential until you attach another one.
      </ConfirmDialog>
    </>
  )
}

function CredentialForm({ credential, onClose, onSaved }: { credential: Credential | null; onClose(): void; onSaved(): void }) {
  const [name, setName] = useState(credential?.name ?? '')
  const [kind, setKind] = useState<'PASSWORD' | 'PRIVATE_KEY'>(credential?.kind ?? 'PRIVATE_KEY')
  const [username, setUsername] = useState(credential?.username ?? '')
  const [description, setDescription] = useState(credential?.description ?? '')
  const [password, setPassword] = useState('')
  const [privateKey, setPrivateKey] = useState('')
  const [passphrase, setPassphrase] = useState('')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [createState, create] = useMutation(CreateCredential)
  const [updateState, update] = useMutation(UpdateCredential)
  const busy = createState.fetching || updateState.fetching
  const keep = credential ? '•••••• stored — type to replace' : undefined

  const submit = async () => {
    const secrets: Record<string, string> = {}
    if (kind === 'PASSWORD' && password) secrets.password = password
    if (kind === 'PRIVATE_KEY' && privateKey) secrets.privateKey = privateKey
    if (kind === 'PRIVATE_KEY' && passphrase) secrets.passphrase = passphrase
    const shown = ['name', 'kind', 'username', 'description', 'password', 'privateKey', 'passphrase']
    const r = credential
      ? await update({ id: credential.id, input: { name, kind, username, description, ...secrets } })
      : await create({ input: { name, kind, username, description, ...secrets } })
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), shown))
    else onSaved()
  }
  const err = (f: string) => fieldError(errors, f)

  return (
    <Modal
      open
      wide
      title={credential ? `Edit credential “${credential.name}”` : 'New credential'}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy}>
            {busy ? 'Saving…' : credential ? 'Save' : 'Create credential'}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
      <div className="grid-2">
        <Field label="Name" required error={err('name')}>
          {(p) => <input {...p} name="name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <Field label="Username" required error={err('username')}>
          {(p) => <input {...p} name="username" className="mono" value={username} autoComplete="off" onChange={(e) => setUsername(e.target.value)} />}
        </Field>
      </div>
      <Field label="Kind" error={err('kind')}>
        {() => (
          <Segmented
            label="Kind"
            value={kind}
            onChange={setKind}
            options={[
              { value: 'PRIVATE_KEY', label: 'Private key' },
              { value: 'PASSWORD', label: 'Password' },
            ]}
          />
        )}
      </Field>
      {kind === 'PASSWORD' ? (
        <Field label="Password" required={!credential} error={err('password')} hint="Write-only: stored encrypted, never shown again.">
          {(p) => <input {...p} name="password" type="password" autoComplete="new-password" placeholder={keep} value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
      ) : (
        <>
          <Field label="Private key" required={!credential} error={err('privateKey')} hint="OpenSSH, PEM or PPK. Write-only: stored encrypted, never shown again.">
            {(p) => (
              <textarea
                {...p}
                name="privateKey"
                className="mono"
                rows={6}
                spellCheck={false}
                autoComplete="off"
                placeholder={keep ?? '-----BEGIN OPENSSH PRIVATE KEY-----'}
                value={privateKey}
                onChange={(e) => setPrivateKey(e.target.value)}
              />
            )}
          </Field>
          <Field label="Passphrase" error={err('passphrase')} hint={credential?.hasPassphrase ? 'A passphrase is stored; type to replace it.' : 'Only for an encrypted key.'}>
            {(p) => <input {...p} name="passphrase" type="password" autoComplete="new-password" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />}
          </Field>
        </>
      )}
      <Field label="Description" error={err('description')}>
        {(p) => <input {...p} name="description" value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
    </Modal>
  )
}
