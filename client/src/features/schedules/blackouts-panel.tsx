'use client'
/** Blackout windows: periods when linked schedules do not fire (their slots are recorded SKIPPED). */
import { useState } from 'react'
import { useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { EditDialog, useEditor, useSaveForm } from '@/components/edit-dialog'
import { Segmented } from '@/components/inputs'
import { CreateButton, ResourceTable, RowActions } from '@/components/resource-table'
import { Field, Panel } from '@/components/ui'
import { formatDateTime } from '@/lib/format'
import { graphql, type ResultOf } from '@/lib/graphql'
import { defaultTimezone, isoToLocalInput, localInputToIso, WEEKDAYS } from '@/lib/schedule-form'

const BlackoutFields = graphql(`
  fragment BlackoutFields on BlackoutWindow { id name description kind timezone startAt endAt daysOfWeek startTime durationMinutes }
`)
type Blackout = ResultOf<typeof BlackoutFields>
const BlackoutsQuery = graphql(`query Blackouts { blackoutWindows { ...BlackoutFields } }`, [BlackoutFields])
const CreateBlackout = graphql(`mutation CreateBlackout($input: BlackoutWindowInput!) { createBlackoutWindow(input: $input) { ...BlackoutFields } }`, [BlackoutFields])
const UpdateBlackout = graphql(`mutation UpdateBlackout($id: ID!, $input: BlackoutWindowInput!) { updateBlackoutWindow(id: $id, input: $input) { ...BlackoutFields } }`, [BlackoutFields])
const DeleteBlackout = graphql(`mutation DeleteBlackout($id: ID!) { deleteBlackoutWindow(id: $id) }`)
const CTX_BLACKOUT = { additionalTypenames: ['BlackoutWindow'] }

function when(b: Blackout): string {
  if (b.kind === 'ABSOLUTE') return `${formatDateTime(b.startAt)} → ${formatDateTime(b.endAt)}`
  const days = b.daysOfWeek.length ? b.daysOfWeek.map((d) => WEEKDAYS[d]).join(', ') : 'Every day'
  return `${days} at ${b.startTime ?? '?'} for ${b.durationMinutes ?? '?'} min`
}

export function BlackoutsPanel() {
  const [result, refetch] = useQuery({ query: BlackoutsQuery, context: CTX_BLACKOUT })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const editor = useEditor<Blackout>(reload)
  const deletion = useConfirmAction<Blackout>(DeleteBlackout, { onDone: reload })
  return (
    <Panel title="Blackout windows" flush actions={<CreateButton small label="New window" onClick={editor.create} />}>
      <ResourceTable
        items={result.data?.blackoutWindows}
        error={result.error}
        skeletonRows={2}
        testId="blackouts-table"
        empty={
          <p className="muted small" style={{ padding: '12px 16px', margin: 0 }}>
            None. A blackout window (a change freeze, a maintenance night) stops the schedules linked to it from firing; their slots are recorded as skipped.
          </p>
        }
      >
        {(b) => (
          <tr key={b.id}>
            <td style={{ fontWeight: 600 }}>
              {b.name}
              {b.description ? <div className="small faint" style={{ fontWeight: 400 }}>{b.description}</div> : null}
            </td>
            <td>
              <span className="badge plain">{b.kind === 'ABSOLUTE' ? 'Once' : 'Recurring'}</span>
            </td>
            <td className="small">{when(b)}</td>
            <td className="small mono">{b.timezone}</td>
            <RowActions name={b.name} onEdit={() => editor.edit(b)} onDelete={() => deletion.ask(b)} />
          </tr>
        )}
      </ResourceTable>
      {editor.isOpen ? <BlackoutForm blackout={editor.item} onClose={editor.close} onSaved={editor.saved} /> : null}
      <ConfirmDialog {...deletion.dialog} title={`Delete blackout window “${deletion.item?.name}”?`} confirmLabel="Delete window" danger>
        Schedules linked to it fire normally again.
      </ConfirmDialog>
    </Panel>
  )
}

function BlackoutForm({ blackout, onClose, onSaved }: { blackout: Blackout | null; onClose(): void; onSaved(): void }) {
  const [name, setName] = useState(blackout?.name ?? '')
  const [description, setDescription] = useState(blackout?.description ?? '')
  const [kind, setKind] = useState<'ABSOLUTE' | 'RECURRING'>(blackout?.kind ?? 'RECURRING')
  const [timezone, setTimezone] = useState(blackout?.timezone ?? defaultTimezone())
  const [startAt, setStartAt] = useState(isoToLocalInput(blackout?.startAt))
  const [endAt, setEndAt] = useState(isoToLocalInput(blackout?.endAt))
  const [days, setDays] = useState<number[]>([...(blackout?.daysOfWeek ?? [])])
  const [startTime, setStartTime] = useState(blackout?.startTime ?? '22:00')
  const [duration, setDuration] = useState(String(blackout?.durationMinutes ?? 120))
  const form = useSaveForm(CreateBlackout, UpdateBlackout, {
    id: blackout?.id,
    shown: ['name', 'description', 'kind', 'timezone', 'startAt', 'endAt', 'daysOfWeek', 'startTime', 'durationMinutes'],
    onSaved,
  })
  const { err } = form

  const submit = () => {
    const minutes = Number(duration)
    return form.save(
      kind === 'ABSOLUTE'
        ? { name: name.trim(), description, kind, timezone, startAt: localInputToIso(startAt), endAt: localInputToIso(endAt) }
        : { name: name.trim(), description, kind, timezone, daysOfWeek: [...days].sort(), startTime, durationMinutes: Number.isInteger(minutes) ? minutes : null },
    )
  }

  // This dialog's button keeps its label while saving (no "Saving…").
  return (
    <EditDialog title={blackout ? `Edit “${blackout.name}”` : 'New blackout window'} submitLabel={blackout ? 'Save' : 'Create window'} busyLabel={null} form={form} onClose={onClose} onSubmit={submit}>
      <div className="grid-2">
        <Field label="Name" required error={err('name')}>
          {(p) => <input {...p} name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="change freeze" autoFocus />}
        </Field>
        <Field label="Timezone" error={err('timezone')}>
          {(p) => <input {...p} name="timezone" value={timezone} onChange={(e) => setTimezone(e.target.value)} />}
        </Field>
      </div>
      <Field label="Kind" error={err('kind')}>
        {() => <Segmented label="Kind" value={kind} onChange={setKind} options={[{ value: 'RECURRING', label: 'Recurring' }, { value: 'ABSOLUTE', label: 'Once' }]} />}
      </Field>
      {kind === 'ABSOLUTE' ? (
        <div className="grid-2">
          <Field label="From" required error={err('startAt')} hint="Your local time.">
            {(p) => <input {...p} type="datetime-local" value={startAt} onChange={(e) => setStartAt(e.target.value)} />}
          </Field>
          <Field label="Until" required error={err('endAt')} hint="Your local time.">
            {(p) => <input {...p} type="datetime-local" value={endAt} onChange={(e) => setEndAt(e.target.value)} />}
          </Field>
        </div>
      ) : (
        <>
          <div className="grid-2">
            <Field label="Starts at" required error={err('startTime')} hint="In the window's timezone.">
              {(p) => <input {...p} type="time" value={startTime} onChange={(e) => setStartTime(e.target.value)} />}
            </Field>
            <Field label="Lasts (minutes)" required error={err('durationMinutes')}>
              {(p) => <input {...p} inputMode="numeric" value={duration} onChange={(e) => setDuration(e.target.value)} />}
            </Field>
          </div>
          <Field label="Days" error={err('daysOfWeek')} hint="None selected: every day.">
            {() => (
              <div className="status-toggles" role="group" aria-label="Days">
                {WEEKDAYS.map((d, i) => (
                  <button key={d} type="button" className="toggle" aria-pressed={days.includes(i)} onClick={() => setDays(days.includes(i) ? days.filter((x) => x !== i) : [...days, i])}>
                    {d}
                  </button>
                ))}
              </div>
            )}
          </Field>
        </>
      )}
      <Field label="Description" error={err('description')}>
        {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
    </EditDialog>
  )
}
