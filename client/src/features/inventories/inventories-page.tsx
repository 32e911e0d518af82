'use client'
/** Inventories: saved target selections (explicit targets, plus tags and name patterns). */
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { ChipsInput } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, Field, PageHeader, Panel, Skeleton, Tags } from '@/components/ui'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import { graphql, type ResultOf } from '@/lib/graphql'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_INVENTORYTARGET = { additionalTypenames: ['Inventory', 'Target'] }


const InventoryFields = graphql(`
  fragment InventoryFields on Inventory {
    id name description tags namePatterns
    explicitTargets { id name }
    targets { id name }
  }
`)
type Inventory = ResultOf<typeof InventoryFields>

const InventoriesQuery = graphql(`query Inventories { inventories { ...InventoryFields } targets { id name host } }`, [InventoryFields])
const CreateInventory = graphql(`mutation CreateInventory($input: InventoryInput!) { createInventory(input: $input) { ...InventoryFields } }`, [InventoryFields])
const UpdateInventory = graphql(`mutation UpdateInventory($id: ID!, $input: InventoryInput!) { updateInventory(id: $id, input: $input) { ...InventoryFields } }`, [InventoryFields])
const DeleteInventory = graphql(`mutation DeleteInventory($id: ID!) { deleteInventory(id: $id) }`)

export function InventoriesPage() {
  useTitle('Inventories')
  const { canWrite } = useSessionContext()
  const [result, refetch] = useQuery({ query: InventoriesQuery, context: CTX_INVENTORYTARGET })
  const [editing, setEditing] = useState<Inventory | 'new' | null>(null)
  const [deleting, setDeleting] = useState<Inventory | null>(null)
  const [delState, del] = useMutation(DeleteInventory)
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const list = result.data?.inventories

  return (
    <>
      <PageHeader
        title="Inventories"
        subtitle="Saved selections of targets, reusable across templates."
        actions={
          canWrite ? (
            <button className="btn primary" onClick={() => setEditing('new')}>
              <Icons.plus /> New inventory
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
            title="No inventories yet"
            icon={<Icons.inventories />}
            action={canWrite ? <button className="btn primary" onClick={() => setEditing('new')}><Icons.plus /> Create an inventory</button> : null}
          >
            An inventory names a set of targets — listed ones, plus those with given tags or matching name patterns — so templates can say “run on prod-web”.
          </EmptyState>
        ) : (
          <table className="table" data-testid="inventories-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Tags (all of)</th>
                <th>Name patterns</th>
                <th className="num">Listed</th>
                <th>Selects now</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((i) => (
                <tr key={i.id} data-inventory={i.name}>
                  <td>
                    <div style={{ fontWeight: 600 }}>{i.name}</div>
                    {i.description ? <div className="small faint">{i.description}</div> : null}
                  </td>
                  <td>
                    <Tags tags={i.tags} />
                  </td>
                  <td className="mono small">{i.namePatterns.join(' ') || <span className="faint">—</span>}</td>
                  <td className="num">{i.explicitTargets.length}</td>
                  <td className="small">
                    <span className="badge plain accent">{i.targets.length} target{i.targets.length === 1 ? '' : 's'}</span>{' '}
                    <span className="faint truncate">{i.targets.slice(0, 4).map((t) => t.name).join(', ')}{i.targets.length > 4 ? '…' : ''}</span>
                  </td>
                  <td className="actions">
                    {canWrite ? (
                      <>
                        <button className="btn sm ghost icon" aria-label={`Edit ${i.name}`} onClick={() => setEditing(i)}>
                          <Icons.edit />
                        </button>
                        <button className="btn sm ghost icon" aria-label={`Delete ${i.name}`} onClick={() => setDeleting(i)}>
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
        <InventoryForm
          inventory={editing === 'new' ? null : editing}
          targets={result.data?.targets ?? []}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null)
            reload()
          }}
        />
      ) : null}
      <ConfirmDialog
        open={!!deleting}
        title={`Delete inventory “${deleting?.name}”?`}
        confirmLabel="Delete inventory"
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
        Templates that select it stop selecting its targets. The targets themselves are kept.
      </ConfirmDialog>
    </>
  )
}

function InventoryForm({ inventory, targets, onClose, onSaved }: { inventory: Inventory | null; targets: ReadonlyArray<{ id: string; name: string; host: string }>; onClose(): void; onSaved(): void }) {
  const [name, setName] = useState(inventory?.name ?? '')
  const [description, setDescription] = useState(inventory?.description ?? '')
  const [tags, setTags] = useState<string[]>([...(inventory?.tags ?? [])])
  const [namePatterns, setNamePatterns] = useState<string[]>([...(inventory?.namePatterns ?? [])])
  const [targetIds, setTargetIds] = useState<string[]>(inventory?.explicitTargets.map((t) => t.id) ?? [])
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [createState, create] = useMutation(CreateInventory)
  const [updateState, update] = useMutation(UpdateInventory)
  const busy = createState.fetching || updateState.fetching
  const err = (f: string) => fieldError(errors, f)

  const submit = async () => {
    const input = { name: name.trim(), description, tags, namePatterns, targetIds }
    const r = inventory ? await update({ id: inventory.id, input }) : await create({ input })
    if (r.error) setErrors(withUnclaimed(toFormErrors(r.error), ['name', 'description', 'tags', 'namePatterns', 'targetIds']))
    else onSaved()
  }

  return (
    <Modal
      open
      wide
      title={inventory ? `Edit inventory “${inventory.name}”` : 'New inventory'}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn primary" disabled={busy}>
            {busy ? 'Saving…' : inventory ? 'Save' : 'Create inventory'}
          </button>
        </>
      }
    >
      <ErrorAlert message={errors.form} />
      <div className="grid-2">
        <Field label="Name" required error={err('name')}>
          {(p) => <input {...p} name="name" value={name} placeholder="prod-web" onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <Field label="Description" error={err('description')}>
          {(p) => <input {...p} name="description" value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
      </div>
      <div className="grid-2">
        <Field label="Tags (all of)" error={err('tags')}>
          {(p) => <ChipsInput id={p.id} value={tags} onChange={setTags} placeholder="web, prod" invalid={p['aria-invalid']} />}
        </Field>
        <Field label="Name patterns" error={err('namePatterns')} hint="Globs such as web-*.">
          {(p) => <ChipsInput id={p.id} value={namePatterns} onChange={setNamePatterns} placeholder="web-*" invalid={p['aria-invalid']} />}
        </Field>
      </div>
      <Field label="Listed targets" error={err('targetIds')}>
        {() =>
          targets.length ? (
            <div className="pick-list" role="group" aria-label="Listed targets">
              {targets.map((t) => (
                <label key={t.id}>
                  <input type="checkbox" checked={targetIds.includes(t.id)} onChange={() => setTargetIds(targetIds.includes(t.id) ? targetIds.filter((x) => x !== t.id) : [...targetIds, t.id])} />
                  {t.name} <span className="faint small mono">{t.host}</span>
                </label>
              ))}
            </div>
          ) : (
            <p className="muted small" style={{ margin: 0 }}>No targets yet.</p>
          )
        }
      </Field>
    </Modal>
  )
}
