'use client'
/** Inventories: saved target selections (explicit targets, plus tags and name patterns). */
import { useState } from 'react'
import { useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { EditDialog, useEditor, useSaveForm } from '@/components/edit-dialog'
import { ChipsInput } from '@/components/inputs'
import { Icons } from '@/components/icons'
import { CreateButton, ListPageHeader, NameCell, ResourceTable, RowActions } from '@/components/resource-table'
import { useTitle } from '@/components/shell'
import { EmptyState, Field, Panel, Tags } from '@/components/ui'
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
  const [result, refetch] = useQuery({ query: InventoriesQuery, context: CTX_INVENTORYTARGET })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const editor = useEditor<Inventory>(reload)
  const deletion = useConfirmAction<Inventory>(DeleteInventory, { onDone: reload })

  return (
    <>
      <ListPageHeader title="Inventories" subtitle="Saved selections of targets, reusable across templates." create={{ label: 'New inventory', onClick: editor.create }} />
      <Panel flush>
        <ResourceTable
          items={result.data?.inventories}
          error={result.error}
          testId="inventories-table"
          headers={['Name', 'Tags (all of)', 'Name patterns', { label: 'Listed', className: 'num' }, 'Selects now']}
          empty={
            <EmptyState title="No inventories yet" icon={<Icons.inventories />} action={<CreateButton label="Create an inventory" onClick={editor.create} />}>
              An inventory names a set of targets — listed ones, plus those with given tags or matching name patterns — so templates can say “run on prod-web”.
            </EmptyState>
          }
        >
          {(i) => (
            <tr key={i.id} data-inventory={i.name}>
              <NameCell name={i.name} description={i.description} />
              <td>
                <Tags tags={i.tags} />
              </td>
              <td className="mono small">{i.namePatterns.join(' ') || <span className="faint">—</span>}</td>
              <td className="num">{i.explicitTargets.length}</td>
              <td className="small">
                <span className="badge plain accent">{i.targets.length} target{i.targets.length === 1 ? '' : 's'}</span>{' '}
                <span className="faint truncate">{i.targets.slice(0, 4).map((t) => t.name).join(', ')}{i.targets.length > 4 ? '…' : ''}</span>
              </td>
              <RowActions name={i.name} onEdit={() => editor.edit(i)} onDelete={() => deletion.ask(i)} />
            </tr>
          )}
        </ResourceTable>
      </Panel>
      {editor.isOpen ? <InventoryForm inventory={editor.item} targets={result.data?.targets ?? []} onClose={editor.close} onSaved={editor.saved} /> : null}
      <ConfirmDialog {...deletion.dialog} title={`Delete inventory “${deletion.item?.name}”?`} confirmLabel="Delete inventory" danger>
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
  const form = useSaveForm(CreateInventory, UpdateInventory, { id: inventory?.id, shown: ['name', 'description', 'tags', 'namePatterns', 'targetIds'], onSaved })
  const { err } = form
  const submit = () => form.save({ name: name.trim(), description, tags, namePatterns, targetIds })

  return (
    <EditDialog title={inventory ? `Edit inventory “${inventory.name}”` : 'New inventory'} submitLabel={inventory ? 'Save' : 'Create inventory'} form={form} onClose={onClose} onSubmit={submit}>
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
    </EditDialog>
  )
}
