'use client'
/**
 * One inventory source: its settings, its last sync, and what its owner (or an admin) does with it —
 * test the connection (the result in words), dry-run a sync (the diff), sync now (an `inventory_sync`
 * run, followed live here and linked), edit, delete.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation, useQuery, useSubscription } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog, Modal } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { useConnection } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { BackLink, EmptyState, ErrorAlert, PageHeader, Panel, plural, Skeleton, Spinner, StatusBadge, Tags } from '@/components/ui'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { filterSummary, fractionToPercent } from '@/lib/inventory-sources'
import { isFinal } from '@/features/runs/queries'
import { DeleteInventorySource, InventorySourceQuery, PreviewInventorySync, SyncInventorySource, SyncRunUpdated, TestInventorySource, type InventorySource, type SyncPreview } from './queries'
import { LastSync, SyncModeBadge, useMayChangeSource, useSyncRunsEnding } from './source-parts'
import { SourceForm } from './source-form'
import { SyncPreviewView } from './sync-preview'

const CTX_SOURCE = { additionalTypenames: ['InventorySource', 'Credential'] }

type TestResult = { ok: boolean; message: string; version: string | null; deviceCount: number | null }

export function InventorySourceDetail({ id }: { id: string }) {
  const router = useRouter()
  const [result, refetch] = useQuery({ query: InventorySourceQuery, variables: { id }, context: CTX_SOURCE })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const source = result.data?.inventorySource
  useTitle(source?.name ?? 'Inventory source')
  const mayChange = useMayChangeSource(source)
  const [editing, setEditing] = useState(false)
  const [syncAsked, setSyncAsked] = useState(false)
  const [startedRun, setStartedRun] = useState<{ id: string; number: number } | null>(null)
  const deletion = useConfirmAction<InventorySource>(DeleteInventorySource, { onDone: () => router.push('/inventory-sources') })

  const [testState, runTest] = useMutation(TestInventorySource)
  const [test, setTest] = useState<TestResult | null>(null)
  const [previewState, runPreview] = useMutation(PreviewInventorySync)
  const [preview, setPreview] = useState<SyncPreview | null>(null)
  const [previewError, setPreviewError] = useState<string | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)
  useSyncRunsEnding(reload)

  if (!source) {
    if (result.error) {
      const e = toFormErrors(result.error)
      return (
        <>
          <BackLink href="/inventory-sources">Inventory sources</BackLink>
          <EmptyState title={e.code === 'NOT_FOUND' ? 'Inventory source not found' : 'Could not load this inventory source'}>{e.code === 'NOT_FOUND' ? 'It was deleted, or the link is wrong.' : e.form}</EmptyState>
        </>
      )
    }
    return <Skeleton rows={6} />
  }

  const doTest = async () => {
    setActionError(null)
    const r = await runTest({ id: source.id })
    if (r.error) setActionError(errorMessage(r.error))
    else if (r.data) setTest(r.data.testInventorySource)
  }
  const doPreview = async () => {
    setPreviewError(null)
    const r = await runPreview({ id: source.id })
    if (r.error) {
      setPreview(null)
      setPreviewError(errorMessage(r.error))
    } else if (r.data) setPreview(r.data.previewInventorySync)
  }

  return (
    <>
      <BackLink href="/inventory-sources">Inventory sources</BackLink>
      <PageHeader
        title={
          <span className="run-head">
            <span>{source.name}</span>
            <SyncModeBadge mode={source.syncMode} />
          </span>
        }
        subtitle={source.description || undefined}
        actions={
          mayChange ? (
            <>
              <button className="btn" onClick={() => void doTest()} disabled={testState.fetching}>
                {testState.fetching ? 'Testing…' : 'Test connection'}
              </button>
              <button className="btn" onClick={() => void doPreview()} disabled={previewState.fetching}>
                {previewState.fetching ? 'Running dry run…' : 'Dry run'}
              </button>
              <button className="btn primary" onClick={() => setSyncAsked(true)}>
                <Icons.play /> Sync now
              </button>
              <button className="btn ghost icon" aria-label={`Edit ${source.name}`} onClick={() => setEditing(true)}>
                <Icons.edit />
              </button>
              <button className="btn ghost icon" aria-label={`Delete ${source.name}`} onClick={() => deletion.ask(source)}>
                <Icons.trash />
              </button>
            </>
          ) : null
        }
      />
      {!mayChange ? (
        <div className="alert neutral small" role="note">
          {source.owner ? `Only ${source.owner.username} (its owner) and admins` : 'Only admins'} may change, test or sync this source.
        </div>
      ) : null}
      <ErrorAlert message={actionError} />
      {test ? <TestResultAlert result={test} /> : null}
      {startedRun ? <SyncRunPanel run={startedRun} /> : null}
      {preview || previewError || previewState.fetching ? (
        <Panel title="Dry run" actions={preview ? <span className="small muted">Nothing was changed.</span> : undefined}>
          {previewState.fetching && !preview ? <Spinner label="Asking the source…" /> : null}
          {previewError ? (
            <div className="alert error" role="alert" data-testid="preview-error">
              The dry run failed: {previewError}
            </div>
          ) : preview ? (
            <SyncPreviewView preview={preview} />
          ) : null}
        </Panel>
      ) : null}
      <div className="grid-2" style={{ alignItems: 'start' }}>
        <Panel title="Source">
          <dl className="kv">
            <dt>Kind</dt>
            <dd>Nautobot</dd>
            <dt>URL</dt>
            <dd className="mono" style={{ overflowWrap: 'anywhere' }}>
              {source.url}
            </dd>
            <dt>API token</dt>
            <dd>
              set — in credential <Link href="/credentials">{source.tokenCredential.name}</Link>
            </dd>
            <dt>TLS</dt>
            <dd>
              {source.tlsVerify ? 'certificate verified' : <span className="badge warn plain">not verified</span>}
              {source.caCertificate ? ' · extra CA set' : ''}
            </dd>
            <dt>Devices</dt>
            <dd data-testid="source-filter">{filterSummary(source.filter)}</dd>
            <dt>Owner</dt>
            <dd>{source.owner?.username ?? '—'}</dd>
          </dl>
        </Panel>
        <Panel title="Targets and sync">
          <dl className="kv">
            <dt>Targets</dt>
            <dd>
              <Link href="/targets" data-testid="source-targets">
                {plural(source.targetCount, 'target')}
              </Link>
            </dd>
            <dt>Port</dt>
            <dd>{source.defaultPort}</dd>
            <dt>Credential</dt>
            <dd>{source.defaultCredential ? `${source.defaultCredential.name} (${source.defaultCredential.username})` : <span className="faint">none — set one on the targets</span>}</dd>
            <dt>Extra tags</dt>
            <dd>
              <Tags tags={source.extraTags} />
            </dd>
            <dt>Mode</dt>
            <dd>{source.syncMode === 'AUTHORITATIVE' ? 'Authoritative: also removes targets whose device left the source' : 'Additive: creates and updates, never removes'}</dd>
            <dt>Safety valve</dt>
            <dd>refuses removing more than {fractionToPercent(source.maxDeleteFraction)} % of its targets</dd>
            <dt>Last sync</dt>
            <dd>
              <LastSync source={source} />
              {source.lastSyncAt ? <div className="small faint">{formatDateTime(source.lastSyncAt)}</div> : null}
            </dd>
          </dl>
        </Panel>
      </div>
      {editing ? (
        <SourceForm
          source={source}
          credentials={result.data?.credentials ?? []}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false)
            setPreview(null)
            setTest(null)
            reload()
          }}
        />
      ) : null}
      {syncAsked ? (
        <SyncDialog
          source={source}
          preview={preview}
          onClose={() => setSyncAsked(false)}
          onStarted={(run) => {
            setSyncAsked(false)
            setStartedRun(run)
          }}
        />
      ) : null}
      <ConfirmDialog {...deletion.dialog} title={`Delete inventory source “${deletion.item?.name}”?`} confirmLabel="Delete source" danger>
        Its {plural(source.targetCount, 'target')} stay, as hand-managed targets; nothing syncs them any more.
      </ConfirmDialog>
    </>
  )
}

function TestResultAlert({ result }: { result: TestResult }) {
  return (
    <div className={`alert ${result.ok ? 'ok' : 'error'}`} role="status" data-testid="test-result" data-ok={result.ok}>
      <strong>{result.ok ? 'Connection works.' : 'Connection failed.'}</strong> {result.message.charAt(0).toUpperCase() + result.message.slice(1)}
      {result.ok && result.message.slice(-1) !== '.' ? '.' : ''}
    </div>
  )
}

/** The sync run started from this page, live until it ends (useSyncRunsEnding then reloads the source). */
function SyncRunPanel({ run }: { run: { id: string; number: number } }) {
  const [live] = useSubscription({ query: SyncRunUpdated, variables: { runId: run.id } })
  const { state } = useConnection()
  const current = live.data?.jobRunUpdated
  const status = current?.status ?? 'QUEUED'
  const final = isFinal(status)
  return (
    <div className={`alert ${final ? (status === 'SUCCEEDED' ? 'ok' : 'error') : 'info'}`} role="status" data-testid="sync-run" data-status={status}>
      Sync run <Link href={`/runs/${encodeURIComponent(run.id)}`}>#{run.number}</Link> <StatusBadge status={status} stale={!final && state !== 'live'} />
      {final ? (status === 'SUCCEEDED' ? ' — the targets are up to date.' : current?.error ? ` — ${current.error}` : '') : ' — follow its log on the run page.'}
    </div>
  )
}

/** Sync now: what the sync will do, and for an authoritative source the force option past the safety valve. */
function SyncDialog({ source, preview, onClose, onStarted }: { source: InventorySource; preview: SyncPreview | null; onClose(): void; onStarted(run: { id: string; number: number }): void }) {
  const [force, setForce] = useState(false)
  const [state, sync] = useMutation(SyncInventorySource)
  const [error, setError] = useState<string | null>(null)
  const authoritative = source.syncMode === 'AUTHORITATIVE'
  const submit = async () => {
    setError(null)
    const r = await sync({ id: source.id, force: authoritative && force })
    if (r.error) setError(errorMessage(r.error))
    else if (r.data) onStarted(r.data.syncInventorySource)
  }
  return (
    <Modal
      open
      title={`Sync “${source.name}” now?`}
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Keep it
          </button>
          <button type="submit" className={`btn ${force ? 'danger' : 'primary'}`} disabled={state.fetching} data-autofocus>
            {state.fetching ? 'Starting…' : force ? 'Force sync' : 'Start sync'}
          </button>
        </>
      }
    >
      <div className="stack">
        <p style={{ margin: 0 }}>
          Starts an <span className="mono">inventory_sync</span> run that applies the diff as it is when the run starts
          {authoritative ? ', removing the targets this source created whose device left it' : ''}. {preview ? null : 'Use “Dry run” first to see that diff.'}
        </p>
        {preview?.refusal ? (
          <div className="alert warn" role="note">
            The last dry run says the safety valve would refuse this sync: {preview.refusal}.
          </div>
        ) : null}
        {authoritative ? (
          <>
            <label className="check">
              <input type="checkbox" name="force" checked={force} onChange={(e) => setForce(e.target.checked)} />
              Force: apply even if the safety valve refuses
            </label>
            {force ? (
              <div className="alert error" role="alert" data-testid="force-warning">
                A forced sync removes every target whose device is gone from the source — even all of them, if the source answers with no devices by mistake. Jobs
                stop running on removed targets. Force only after a dry run shows the removals you expect.
              </div>
            ) : (
              <div className="hint small muted">Without force, a sync that would remove more than {fractionToPercent(source.maxDeleteFraction)} % of this source’s targets (or finds no devices) fails and changes nothing.</div>
            )}
          </>
        ) : null}
        <ErrorAlert message={error} />
      </div>
    </Modal>
  )
}
