'use client'
/** Targets: servers and devices jobs run on, with their credential, tags, attributes and trusted host key. */
import Link from 'next/link'
import { useEffect, useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { ChipsInput, KeyValueEditor } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Field, PageHeader, Panel, Skeleton, Tags } from '@/components/ui'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { graphql, type ResultOf } from '@/lib/graphql'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_TARGETCREDENTIAL = { additionalTypenames: ['Target', 'Credential'] }


const TargetFields = graphql(`
  fragment TargetFields on Target {
    id name host port tags attributes description hostKeyFingerprint hostKeyAlgorithm updatedAt
    credential { id name username }
  }
`)
type Target = ResultOf<typeof TargetFields>

const TargetsQuery = graphql(`query Targets($search: String) { targets(search: $search) { ...TargetFields } credentials { id name username kind } }`, [TargetFields])
const CreateTarget = graphql(`mutation CreateTarget($input: CreateTargetInput!) { createTarget(input: $input) { ...TargetFields } }`, [TargetFields])
const UpdateTarget = graphql(`mutation UpdateTarget($id: ID!, $input: UpdateTargetInput!) { updateTarget(id: $id, input: $input) { ...TargetFields } }`, [TargetFields])
const DeleteTarget = graphql(`mutation DeleteTarget($id: ID!) { deleteTarget(id: $id) }`)
const ForgetHostKey = graphql(`mutation ForgetHostKey($id: ID!) { forgetTargetHostKey(id: $id) { ...TargetFields } }`, [TargetFields])

export function TargetsPage() {
  useTitle('Targets')
  const { canWrite } = useSessionContext()
  const [searchInput, setSearchInput] = useState('')
  const [search, setSearch] = useState('')
  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput.trim()), 200)
    return () => clearTimeout(t)
  }, [searchInput])
  const [result, refetch] = useQuery({ query: TargetsQuery, variables: { search: search || null }, context: CTX_TARGETCREDENTIAL })
  const [editing, setEditing] = useState<Target | 'new' | null>(null)
  const [deleting, setDeleting] = useState<Target | null>(null)
  const [forgetting, setForgetting] = useState<Target | null>(null)
  const [delState, del] = useMutation(DeleteTarget)
  const [forgetState, forget] = useMutation(ForgetHostKey)
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const list = result.data?.targets
  const credentials = result.data?.credentials ?? []

  return (
    <>
      <PageHeader
        title="Targets"
        subtitle="Servers and network devices jobs run on."
        actions={
          canWrite ? (
            <button className="btn primary" onClick={() => setEditing('new')}>
              <Icons.plus /> New target
            </button>
          ) : null
        }
      />
      <div className="filters">
        <input type="search" placeholder="Search by name or host…" aria-label="Search targets" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} style={{ minWidth: 260 }} />
      </div>
      <Panel flush>
        {result.error && !list ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form} />
          </div>
        ) : !list ? (
          <Skeleton />
        ) : list.length === 0 ? (
          search ? (
            <EmptyState title="No targets match">Try another name or host.</EmptyState>
          ) : (
            <EmptyState
              title="No targets yet"
              icon={<Icons.targets />}
              action={canWrite ? <button className="btn primary" onClick={() => setEditing('new')}><Icons.plus /> Add a target</button> : null}
            >
              A target is a host Switchyard connects to over SSH. {credentials.length ? 'Add one and pick the credential it logs in with.' : <>Start by <Link href="/credentials">adding a credential</Link>, then add targets that use it.</>}
            </EmptyState>
          )
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="targets-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Address</th>
                  <th>Credential</th>
                  <th>Tags</th>
                  <th>Host key</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((t) => (
                  <tr key={t.id} data-target={t.name}>
                    <td>
                      <div style={{ fontWeight: 600 }}>{t.name}</div>
                      {t.description ? <div className="small faint">{t.description}</div> : null}
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
                    <td className="actions">
                      {canWrite ? (
                        <>
                          {t.hostKeyFingerprint ? (
                            <button className="btn sm ghost" onClick={() => setForgetting(t)} title="Forget the trusted host key (after a legitimate re-key)">
                              Forget key
                            </button>
                          ) : null}
                          <button className="btn sm ghost icon" aria-label={`Edit ${t.name}`} onClick={() => setEditing(t)}>
                            <Icons.edit />
                          </button>
                          <button className="btn sm ghost icon" aria-label={`Delete ${t.name}`} onClick={() => setDeleting(t)}>
                            <Icons.trash />
                          </button>
                        </>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      {editing ? (
        <TargetForm
          target={editing === 'new' ? null : editing}
          credentials={credentials}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null)
            reload()
          }}
        />
      ) : null}
      <ConfirmDialog
        open={!!deleting}
        title={`Delete target “${deleting?.name}”?`}
        confirmLabel="Delete target"
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
        Templates and inventories stop selecting it. Past runs keep their results.
      </ConfirmDialog>
      <ConfirmDialog
        open={!!forgetting}
        title={`Forget the host key of “${forgetting?.name}”?`}
        confirmLabel="Forget host key"
        busy={forgetState.fetching}
        error={forgetState.error ? toFormErrors(forgetState.error).form : null}
        onClose={() => setForgetting(null)}
        onConfirm={async () => {
          const r = await forget({ id: forgetting!.id })
          if (!r.error) setForgetting(null)
        }}
      >
        Do this only after a legitimate re-key: the next connection trusts whatever key the host presents. Currently trusted: <code>{forgetting?.hostKeyFingerprint}</code>
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
  credentials: ReadonlyArray<{ id: string; name: string; username: string }>
  onClose(): void
  onSaved(): void
}) {
  const [name, setName] = useState(target?.name ?? '')
  const [host, setHost] = useState(target?.host ?? '')
  const [port, setPort] = useState(String(target?.port ?? 22))
  const [credentialId, setCredentialId] = useState(target?.credential?.id ?? (target ? '' : (credentials[0]?.id ?? '')))
  const [tags, setTags] = useState<string[]>([...(target?.tags ?? [])])
  const [attributes, setAttributes] = useState<Array<[string, string]>>(
    Object.entries((target?.attributes as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [k, v == null ? '' : String(v)]),
  )
  const [description, setDescription] = useState(target?.description ?? '')
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [createState, create] = useMutation(CreateTarget)
  const [updateState, update] = useMutation(UpdateTarget)
  const busy = createState.fetching || updateState.fetching
  const err = (f: string) => fieldError(errors, f)

  const submit = async () => {
    const portNumber = Number(port)
    if (!Number.isInteger(portNumber)) return setErrors({ form: null, fields: { port: 'must be a whole number' }, code: null })
    const input = {
      name: name.trim(),
      host: host.trim(),
      port: portNumber,
      credentialId: credentialId || null,
      tags,
      attributes: Object.fromEntries(attributes.filter(([k]) => k.trim()).map(([k, v]) => [k.trim(), v])),
      description,
    }
    const shown = ['name', 'host', 'port', 'credentialId', 'tags', 'attributes', 'description']
    const r = target ? await update({ id: target.id, input }) : await create({ input })
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), shown))
    else onSaved()
  }

  return (
    <Modal
      open
      wide
      title={target ? `Edit target “${target.name}”` : 'New target'}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy}>
            {busy ? 'Saving…' : target ? 'Save' : 'Create target'}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
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
              <option key={c.id} value={c.id}>
                {c.name} ({c.username})
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
    </Modal>
  )
}
