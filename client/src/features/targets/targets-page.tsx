'use client'
/** Targets: servers and devices jobs run on, with their credential, tags, attributes and trusted host key. */
import Link from 'next/link'
import { useState } from 'react'
import { useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { EditDialog, useEditor, useSaveForm } from '@/components/edit-dialog'
import { ChipsInput, KeyValueEditor } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { CreateButton, ListPageHeader, ResourceTable, RowActions } from '@/components/resource-table'
import { SearchBox, useDebouncedSearch } from '@/components/search-box'
import { useTitle } from '@/components/shell'
import { EmptyState, Field, Panel, Tags } from '@/components/ui'
import { graphql, type ResultOf } from '@/lib/graphql'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_TARGETCREDENTIAL = { additionalTypenames: ['Target', 'Credential'] }


const TargetFields = graphql(`
  fragment TargetFields on Target {
    id name host port tags attributes description hostKeyFingerprint hostKeyAlgorithm updatedAt
    credential { id name username }
    source { id name }
  }
`)
type Target = ResultOf<typeof TargetFields>

const TargetsQuery = graphql(`query Targets($search: String) { targets(search: $search) { ...TargetFields } credentials { id name username kind canUse } }`, [TargetFields])
const CreateTarget = graphql(`mutation CreateTarget($input: CreateTargetInput!) { createTarget(input: $input) { ...TargetFields } }`, [TargetFields])
const UpdateTarget = graphql(`mutation UpdateTarget($id: ID!, $input: UpdateTargetInput!) { updateTarget(id: $id, input: $input) { ...TargetFields } }`, [TargetFields])
const DeleteTarget = graphql(`mutation DeleteTarget($id: ID!) { deleteTarget(id: $id) }`)
const ForgetHostKey = graphql(`mutation ForgetHostKey($id: ID!) { forgetTargetHostKey(id: $id) { ...TargetFields } }`, [TargetFields])

export function TargetsPage() {
  useTitle('Targets')
  const query = useDebouncedSearch()
  const { search } = query
  const [result, refetch] = useQuery({ query: TargetsQuery, variables: { search: search || null }, context: CTX_TARGETCREDENTIAL })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const editor = useEditor<Target>(reload)
  const deletion = useConfirmAction<Target>(DeleteTarget, { onDone: reload })
  const forgetting = useConfirmAction<Target>(ForgetHostKey)
  const credentials = result.data?.credentials ?? []

  return (
    <>
      <ListPageHeader title="Targets" subtitle="Servers and network devices jobs run on." create={{ label: 'New target', onClick: editor.create }} />
      <div className="filters">
        <SearchBox label="Search targets" placeholder="Search by name or host…" search={query} />
      </div>
      <Panel flush>
        <ResourceTable
          items={result.data?.targets}
          error={result.error}
          testId="targets-table"
          scroll
          headers={['Name', 'Address', 'Credential', 'Tags', 'Host key']}
          empty={
            search ? (
              <EmptyState title="No targets match">Try another name or host.</EmptyState>
            ) : (
              <EmptyState title="No targets yet" icon={<Icons.targets />} action={<CreateButton label="Add a target" onClick={editor.create} />}>
                A target is a host Switchyard connects to over SSH. {credentials.length ? 'Add one and pick the credential it logs in with.' : <>Start by <Link href="/credentials">adding a credential</Link>, then add targets that use it.</>}
              </EmptyState>
            )
          }
        >
          {(t) => (
            <tr key={t.id} data-target={t.name}>
              <td>
                <div style={{ fontWeight: 600 }}>{t.name}</div>
                {t.description ? <div className="small faint">{t.description}</div> : null}
                {t.source ? (
                  <div className="small muted" data-testid="target-source">
                    synced from <Link href={`/inventory-sources/${encodeURIComponent(t.source.id)}`}>{t.source.name}</Link>
                  </div>
                ) : null}
              </td>
              <td className="mono">
                {t.host}:{t.port}
              </td>
              <td className="small">{t.credential ? `${t.credential.name} (${t.credential.username})` : <span className="badge warn plain">none</span>}</td>
              <td>
                <Tags tags={t.tags} />
              </td>
              <td className="small mono truncate" style={{ maxWidth: 220 }} title={t.hostKeyFingerprint ?? ''}>
                {t.hostKeyFingerprint ? t.hostKeyFingerprint : <span className="faint">trusted on first use</span>}
              </td>
              <RowActions name={t.name} onEdit={() => editor.edit(t)} onDelete={() => deletion.ask(t)}>
                {t.hostKeyFingerprint ? (
                  <button className="btn sm ghost" onClick={() => forgetting.ask(t)} title="Forget the trusted host key (after a legitimate re-key)">
                    Forget key
                  </button>
                ) : null}
              </RowActions>
            </tr>
          )}
        </ResourceTable>
      </Panel>
      {editor.isOpen ? <TargetForm target={editor.item} credentials={credentials} onClose={editor.close} onSaved={editor.saved} /> : null}
      <ConfirmDialog {...deletion.dialog} title={`Delete target “${deletion.item?.name}”?`} confirmLabel="Delete target" danger>
        Templates and inventories stop selecting it. Past runs keep their results.
      </ConfirmDialog>
      <ConfirmDialog {...forgetting.dialog} title={`Forget the host key of “${forgetting.item?.name}”?`} confirmLabel="Forget host key">
        Do this only after a legitimate re-key: the next connection trusts whatever key the host presents. Currently trusted: <code>{forgetting.item?.hostKeyFingerprint}</code>
      </ConfirmDialog>
    </>
  )
}

function TargetForm({
  target,
  credentials,
  onClose,
  onSaved,
}: {
  target: Target | null
  credentials: ReadonlyArray<{ id: string; name: string; username: string; canUse: boolean }>
  onClose(): void
  onSaved(): void
}) {
  const [name, setName] = useState(target?.name ?? '')
  const [host, setHost] = useState(target?.host ?? '')
  const [port, setPort] = useState(String(target?.port ?? 22))
  const [credentialId, setCredentialId] = useState(target?.credential?.id ?? (target ? '' : (credentials.find((c) => c.canUse)?.id ?? '')))
  const [tags, setTags] = useState<string[]>([...(target?.tags ?? [])])
  const [attributes, setAttributes] = useState<Array<[string, string]>>(
    Object.entries((target?.attributes as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [k, v == null ? '' : String(v)]),
  )
  const [description, setDescription] = useState(target?.description ?? '')
  const form = useSaveForm(CreateTarget, UpdateTarget, { id: target?.id, shown: ['name', 'host', 'port', 'credentialId', 'tags', 'attributes', 'description'], onSaved })
  const { err } = form

  const submit = () => {
    const portNumber = Number(port)
    if (!Number.isInteger(portNumber)) return form.setErrors({ form: null, fields: { port: 'must be a whole number' }, code: null })
    return form.save({
      name: name.trim(),
      host: host.trim(),
      port: portNumber,
      credentialId: credentialId || null,
      tags,
      attributes: Object.fromEntries(attributes.filter(([k]) => k.trim()).map(([k, v]) => [k.trim(), v])),
      description,
    })
  }

  return (
    <EditDialog title={target ? `Edit target “${target.name}”` : 'New target'} submitLabel={target ? 'Save' : 'Create target'} form={form} onClose={onClose} onSubmit={submit}>
      <div className="grid-3">
        <Field label="Name" required error={err('name')}>
          {(p) => <input {...p} name="name" value={name} placeholder="web-1" onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <Field label="Host" required error={err('host')}>
          {(p) => <input {...p} name="host" className="mono" value={host} placeholder="10.0.0.11" onChange={(e) => setHost(e.target.value)} />}
        </Field>
        <Field label="Port" error={err('port')}>
          {(p) => <input {...p} name="port" inputMode="numeric" value={port} onChange={(e) => setPort(e.target.value)} />}
        </Field>
      </div>
      <Field label="Credential" error={err('credentialId')} hint={credentials.length ? undefined : 'No credentials yet: create one on the Credentials page.'}>
        {(p) => (
          <select {...p} name="credentialId" value={credentialId} onChange={(e) => setCredentialId(e.target.value)}>
            <option value="">(none)</option>
            {credentials.map((c) => (
              // Only credentials you may use can be set (the API refuses others); a current one stays shown.
              <option key={c.id} value={c.id} disabled={!c.canUse && c.id !== credentialId}>
                {c.name} ({c.username}){c.canUse ? '' : ' — not yours to use'}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Tags" error={err('tags')} hint="Templates and inventories select targets by tag.">
        {(p) => <ChipsInput id={p.id} value={tags} onChange={setTags} placeholder="web, prod" invalid={p['aria-invalid']} describedBy={p['aria-describedby']} />}
      </Field>
      <Field label="Attributes" error={err('attributes')} hint="Free values such as location or platform, usable as {{ target.attributes.name }}.">
        {(p) => <KeyValueEditor value={attributes} onChange={setAttributes} keyPlaceholder="location" valuePlaceholder="ams1" invalid={p['aria-invalid']} describedBy={p['aria-describedby']} addLabel="Add attribute" />}
      </Field>
      <Field label="Description" error={err('description')}>
        {(p) => <input {...p} name="description" value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
    </EditDialog>
  )
}
