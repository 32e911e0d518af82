'use client'
/**
 * SSH credentials. Secrets are write-only: the API never returns them, the form only replaces them. Who
 * may use each (name it in templates and targets) is its owner's and admins' to grant ("Who may use").
 */
import { useState } from 'react'
import { useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { EditDialog, useEditor, useSaveForm } from '@/components/edit-dialog'
import { Segmented } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { CreateButton, ListPageHeader, NameCell, ResourceTable, RowActions } from '@/components/resource-table'
import { useTitle } from '@/components/shell'
import { EmptyState, Field, Panel, RelativeTime } from '@/components/ui'
import { graphql, type ResultOf } from '@/lib/graphql'
import { UseGrantFields, UseGrantsDialog } from './use-grants-dialog'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_CREDENTIAL = { additionalTypenames: ['Credential'] }


const CredentialFields = graphql(`
  fragment CredentialFields on Credential { id name kind username description hasPassphrase updatedAt owner { id username } canUse useGrants { ...UseGrantFields } }
`, [UseGrantFields])
type Credential = ResultOf<typeof CredentialFields>

const CredentialsQuery = graphql(`query Credentials { credentials { ...CredentialFields } }`, [CredentialFields])
const CreateCredential = graphql(`mutation CreateCredential($input: CreateCredentialInput!) { createCredential(input: $input) { ...CredentialFields } }`, [CredentialFields])
const UpdateCredential = graphql(`mutation UpdateCredential($id: ID!, $input: UpdateCredentialInput!) { updateCredential(id: $id, input: $input) { ...CredentialFields } }`, [CredentialFields])
const DeleteCredential = graphql(`mutation DeleteCredential($id: ID!) { deleteCredential(id: $id) }`)

export function CredentialsPage() {
  useTitle('Credentials')
  const [result, refetch] = useQuery({ query: CredentialsQuery, context: CTX_CREDENTIAL })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const editor = useEditor<Credential>(reload)
  const deletion = useConfirmAction<Credential>(DeleteCredential, { onDone: reload })
  const [grantsOf, setGrantsOf] = useState<string | null>(null)
  // Read from the list, so a grant's reload shows in the open dialog.
  const grantsCredential = grantsOf ? result.data?.credentials.find((c) => c.id === grantsOf) : undefined

  return (
    <>
      <ListPageHeader
        title="Credentials"
        subtitle="SSH passwords and keys, encrypted at rest. Secrets can be replaced but never read back."
        create={{ label: 'New credential', onClick: editor.create }}
      />
      <Panel flush>
        <ResourceTable
          items={result.data?.credentials}
          error={result.error}
          testId="credentials-table"
          headers={['Name', 'Kind', 'Username', 'Owner', 'You may use', 'Updated']}
          empty={
            <EmptyState title="No credentials yet" icon={<Icons.credentials />} action={<CreateButton label="Add a credential" onClick={editor.create} />}>
              Targets log in with a credential: a username with a password or a private key. Add one, then attach it to your targets.
            </EmptyState>
          }
        >
          {(c) => (
            <tr key={c.id} data-credential={c.name}>
              <NameCell name={c.name} description={c.description} />
              <td>
                <span className="badge plain">{c.kind === 'PASSWORD' ? 'Password' : c.hasPassphrase ? 'Private key + passphrase' : 'Private key'}</span>
              </td>
              <td className="mono">{c.username}</td>
              <td className="small">{c.owner.username}</td>
              <td className="small">{c.canUse ? 'yes' : <span className="faint">no — ask {c.owner.username}</span>}</td>
              <td className="small">
                <RelativeTime iso={c.updatedAt} />
              </td>
              <RowActions name={c.name} onEdit={() => editor.edit(c)} onDelete={() => deletion.ask(c)}>
                {c.useGrants ? (
                  <button className="btn sm ghost" aria-label={`Who may use ${c.name}`} onClick={() => setGrantsOf(c.id)}>
                    <Icons.key /> Who may use{c.useGrants.length ? ` (${c.useGrants.length})` : ''}
                  </button>
                ) : null}
              </RowActions>
            </tr>
          )}
        </ResourceTable>
      </Panel>
      {grantsCredential?.useGrants ? (
        <UseGrantsDialog credential={grantsCredential} grants={grantsCredential.useGrants} onChanged={reload} onClose={() => setGrantsOf(null)} />
      ) : null}
      {editor.isOpen ? <CredentialForm credential={editor.item} onClose={editor.close} onSaved={editor.saved} /> : null}
      <ConfirmDialog {...deletion.dialog} title={`Delete credential “${deletion.item?.name}”?`} confirmLabel="Delete credential" danger>
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
  const form = useSaveForm(CreateCredential, UpdateCredential, {
    id: credential?.id,
    shown: ['name', 'kind', 'username', 'description', 'password', 'privateKey', 'passphrase'],
    onSaved,
  })
  const { err } = form
  const keep = credential ? '•••••• stored — type to replace' : undefined

  const submit = () => {
    const secrets: Record<string, string> = {}
    if (kind === 'PASSWORD' && password) secrets.password = password
    if (kind === 'PRIVATE_KEY' && privateKey) secrets.privateKey = privateKey
    if (kind === 'PRIVATE_KEY' && passphrase) secrets.passphrase = passphrase
    return form.save({ name, kind, username, description, ...secrets })
  }

  return (
    <EditDialog title={credential ? `Edit credential “${credential.name}”` : 'New credential'} submitLabel={credential ? 'Save' : 'Create credential'} form={form} onClose={onClose} onSubmit={submit}>
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
    </EditDialog>
  )
}
