'use client'
/**
 * The comparison dashboard on a compare_devices or sync_devices run's page: the counts (a tile each,
 * which also filters), a searchable, paged table of devices filtered by status or action, each
 * device's field differences (Nautobot's value against Checkmk's), and — for a compare run, for those
 * who may write — checkboxes and "Sync selected". A sync run's table shows what it did to each host,
 * and its activation id.
 */
import { useEffect, useRef, useState } from 'react'
import { useQuery } from 'urql'
import { SearchBox, useDebouncedSearch } from '@/components/search-box'
import { useSessionContext } from '@/components/session-provider'
import { EmptyState, ErrorAlert, Panel, plural, Skeleton } from '@/components/ui'
import { errorMessage } from '@/lib/errors'
import {
  ACTION_INFO,
  actionTiles,
  comparisonSummary,
  diffValue,
  EMPTY_FILTER,
  filterVariables,
  isSyncable,
  lastPage,
  PAGE_SIZE,
  pageLabel,
  pageSelection,
  STATUS_INFO,
  statusTiles,
  syncResultFacts,
  toggleIn,
  togglePage,
  type ComparisonStatus,
  type CountTile,
  type DeviceFilter,
  type SyncAction,
} from '@/lib/device-results'
import { DeviceResultsQuery, type DeviceResultRow } from './queries'
import { SyncSelectedDialog, SyncStartedNote, type StartedRun } from './sync-selected'

export function DeviceResultsPanel({ run }: { run: { id: string; number: number; jobType: string; status: string; result: unknown; finishedAt?: string | null } }) {
  const compare = run.jobType === 'compare_devices'
  const { canWrite } = useSessionContext()
  const search = useDebouncedSearch()
  const [filter, setFilter] = useState<DeviceFilter>(EMPTY_FILTER)
  const [selected, setSelected] = useState<Set<string>>(() => new Set())
  const [dialog, setDialog] = useState(false)
  const [started, setStarted] = useState<StartedRun[]>([])
  // The search is part of the filter; a new search starts on the first page.
  const current: DeviceFilter = { ...filter, search: search.search, page: filter.search === search.search ? filter.page : 0 }
  if (current.search !== filter.search) setFilter(current)
  const [query, reexecute] = useQuery({ query: DeviceResultsQuery, variables: { id: run.id, ...filterVariables(current) }, requestPolicy: 'cache-and-network' })
  // Results are written when the run ends: read them again then.
  const ended = run.finishedAt ?? null
  useEffect(() => {
    if (ended) reexecute({ requestPolicy: 'network-only' })
  }, [ended, reexecute])

  const page = query.data?.jobRun.deviceResults
  const set = (patch: Partial<DeviceFilter>) => setFilter({ ...current, page: 0, ...patch })
  const selectable = compare && canWrite
  const facts = syncResultFacts(run.result)

  return (
    <Panel title={compare ? 'Comparison with Checkmk' : 'Checkmk sync'} className="device-results">
      <div className="stack" data-testid="device-results">
        {query.error && !page ? <ErrorAlert message={errorMessage(query.error)} /> : null}
        {!page ? (
          <Skeleton rows={4} />
        ) : (
          <>
            <Tiles
              label={compare ? 'Devices by comparison' : 'Devices by action'}
              tiles={compare ? statusTiles(page.counts) : actionTiles(page.counts)}
              pressed={(k) => (compare ? current.statuses.includes(k as ComparisonStatus) : current.actions.includes(k as SyncAction))}
              onToggle={(k) => (compare ? set({ statuses: toggleIn(current.statuses, k as ComparisonStatus) }) : set({ actions: toggleIn(current.actions, k as SyncAction) }))}
            />
            {compare ? (
              <p style={{ margin: 0 }} data-testid="comparison-summary">
                {page.counts.total || run.finishedAt ? comparisonSummary(page.counts) : 'The comparison has not finished yet.'}
              </p>
            ) : (
              <SyncFacts dryRun={facts.dryRun} activationId={facts.activationId} refusal={facts.refusal} />
            )}
            <div className="filters">
              <SearchBox label="Search devices" placeholder="Search device names…" search={search} />
              {current.statuses.length || current.actions.length || current.search ? (
                <button
                  type="button"
                  className="btn ghost sm"
                  onClick={() => {
                    search.setInput('')
                    setFilter(EMPTY_FILTER)
                  }}
                >
                  Clear filters
                </button>
              ) : null}
              <span className="grow" />
              {selectable ? (
                <>
                  <span className="small muted" aria-live="polite" data-testid="selected-count">
                    {selected.size ? `${plural(selected.size, 'device')} selected` : 'Select missing or different devices to sync them'}
                  </span>
                  {selected.size ? (
                    <button type="button" className="btn ghost sm" onClick={() => setSelected(new Set())}>
                      Clear selection
                    </button>
                  ) : null}
                  <button type="button" className="btn primary sm" disabled={!selected.size} onClick={() => setDialog(true)}>
                    Sync selected
                  </button>
                </>
              ) : null}
            </div>
            {started.map((r) => (
              <SyncStartedNote key={r.id} run={r} />
            ))}
            {page.devices.length ? (
              <DeviceTable compare={compare} rows={page.devices} selectable={selectable} selected={selected} onSelect={setSelected} />
            ) : (
              <EmptyState title={page.counts.total ? 'No devices match these filters' : 'No device results'}>
                {page.counts.total ? 'Change the filters or the search.' : run.finishedAt ? 'The run recorded no devices.' : 'They appear when the run ends.'}
              </EmptyState>
            )}
            <div className="row">
              <button type="button" className="btn sm" disabled={current.page === 0} onClick={() => setFilter({ ...current, page: current.page - 1 })}>
                Previous
              </button>
              <span className="grow small muted" style={{ textAlign: 'center' }} data-testid="device-page">
                {pageLabel(current.page, PAGE_SIZE, page.totalCount)}
              </span>
              <button type="button" className="btn sm" disabled={current.page >= lastPage(page.totalCount)} onClick={() => setFilter({ ...current, page: current.page + 1 })}>
                Next
              </button>
            </div>
          </>
        )}
      </div>
      {dialog ? (
        <SyncSelectedDialog
          runId={run.id}
          devices={[...selected].sort()}
          onClose={() => setDialog(false)}
          onStarted={(r) => {
            setDialog(false)
            setSelected(new Set())
            setStarted((s) => [r, ...s])
          }}
        />
      ) : null}
    </Panel>
  )
}

/** The counts; pressing one shows only those devices (press again for all). */
function Tiles<K extends string>({ label, tiles, pressed, onToggle }: { label: string; tiles: Array<CountTile<K>>; pressed(k: K): boolean; onToggle(k: K): void }) {
  return (
    <div className="device-counts" role="group" aria-label={label}>
      {tiles.map((t) => (
        <button key={t.key} type="button" className="stat device-count" aria-pressed={pressed(t.key)} onClick={() => onToggle(t.key)} data-count={t.key}>
          <span className="label">
            <span className={`badge ${t.tone}`}>{t.label}</span>
          </span>
          <span className="value">{t.count}</span>
        </button>
      ))}
    </div>
  )
}

function SyncFacts({ dryRun, activationId, refusal }: { dryRun: boolean; activationId: string | null; refusal: string | null }) {
  return (
    <div className="stack" style={{ gap: 6 }} data-testid="sync-facts">
      {dryRun ? (
        <div className="alert info" role="note">
          A dry run: these are the actions a sync would take; nothing in Checkmk was changed.
        </div>
      ) : null}
      {refusal ? (
        <div className="alert warn" role="note">
          <strong>The safety valve refuses this sync:</strong> {refusal}.
        </div>
      ) : null}
      <div className="small">
        <span className="muted">Activation: </span>
        {activationId ? (
          <span className="mono" data-testid="activation-id">
            {activationId}
          </span>
        ) : (
          <span className="muted">{dryRun ? 'none (dry run)' : 'none — changes were not activated (not asked for, or nothing to activate)'}</span>
        )}
      </div>
    </div>
  )
}

function DeviceTable({ compare, rows, selectable, selected, onSelect }: { compare: boolean; rows: readonly DeviceResultRow[]; selectable: boolean; selected: ReadonlySet<string>; onSelect(s: Set<string>): void }) {
  const all = useRef<HTMLInputElement>(null)
  const state = pageSelection(selected, rows)
  useEffect(() => {
    if (all.current) all.current.indeterminate = state === 'some'
  }, [state])
  const anySyncable = rows.some((r) => isSyncable(r.status))
  return (
    <div className="table-scroll">
      <table className="table device-table" data-testid="device-table">
        <thead>
          <tr>
            {selectable ? (
              <th style={{ width: 1 }}>
                <input ref={all} type="checkbox" aria-label="Select every missing or different device on this page" checked={state === 'all'} disabled={!anySyncable} onChange={() => onSelect(togglePage(selected, rows))} />
              </th>
            ) : null}
            <th>Device</th>
            <th>{compare ? 'Comparison' : 'Action'}</th>
            <th>Folder</th>
            <th>Differences</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.device} data-device={r.device} data-status={r.status} data-action={r.action ?? undefined}>
              {selectable ? (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${r.device}`}
                    checked={selected.has(r.device)}
                    disabled={!isSyncable(r.status)}
                    title={isSyncable(r.status) ? undefined : `${STATUS_INFO[r.status].label}: nothing to sync`}
                    onChange={() => {
                      const next = new Set(selected)
                      if (next.has(r.device)) next.delete(r.device)
                      else next.add(r.device)
                      onSelect(next)
                    }}
                  />
                </td>
              ) : null}
              <td className="mono" style={{ fontWeight: 600 }}>
                {r.device}
              </td>
              <td>
                {compare || !r.action ? <span className={`badge ${STATUS_INFO[r.status].tone}`}>{STATUS_INFO[r.status].label}</span> : <span className={`badge ${ACTION_INFO[r.action].tone}`}>{ACTION_INFO[r.action].label}</span>}
                {r.error ? <div className="small error-text">{r.error}</div> : null}
              </td>
              <td className="mono small nowrap">{r.folder ?? <span className="faint">—</span>}</td>
              <td>{r.diffs.length ? <Diffs device={r.device} diffs={r.diffs} /> : <span className="faint">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function Diffs({ device, diffs }: { device: string; diffs: DeviceResultRow['diffs'] }) {
  return (
    <table className="diff-table" aria-label={`Differences of ${device}`}>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Nautobot</th>
          <th scope="col">Checkmk</th>
        </tr>
      </thead>
      <tbody>
        {diffs.map((d) => (
          <tr key={d.field} data-field={d.field}>
            <th scope="row" className="mono">
              {d.field}
            </th>
            <td className="mono">
              <ins>{diffValue(d.expected)}</ins>
            </td>
            <td className="mono">
              <del>{diffValue(d.actual)}</del>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
