'use client'
/**
 * One inventory source: its settings, its last sync, and what its owner (or an admin) does with it —
 * test the connection (the result in words), dry-run a sync (the diff), sync now (an `inventory_sync`
 * run, followed live here and linked), edit, delete.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { Icons } from '@/components/icons'
import { useTitle } from '@/components/shell'
import { BackLink, EmptyState, ErrorAlert, PageHeader, Panel, plural, Skeleton, Spinner, Tags } from '@/components/ui'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { filterSummary, fractionToPercent } from '@/lib/inventory-sources'
import { DeleteInventorySource, InventorySourceQuery, PreviewInventorySync, TestInventorySource, type InventorySource, type SyncPreview } from './queries'
import { LastSync, SyncModeBadge, useMayChangeSource, useSyncRunsEnding } from './source-parts'
import { SourceForm } from './source-form'
import { SyncDialog, SyncRunPanel } from './sync-now'
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
            <dt>Custom fields</dt>
            <dd data-testid="source-custom-fields">
              {source.customFieldMappings.length ? (
                <ul style={{ margin: 0, paddingLeft: 16 }}>
                  {source.customFieldMappings.map((m) => (
                    <li key={m.customField + (m.attribute ?? '') + (m.tagPrefix ?? '')}>
                      <span className="mono">{m.customField}</span> →{' '}
                      {[m.attribute ? `attribute ${m.attribute}` : '', m.tagPrefix ? `tags ${m.tagPrefix}:<value>` : ''].filter(Boolean).join(' and ')}
                    </li>
                  ))}
                </ul>
              ) : (
                <span className="faint">none mapped</span>
              )}
            </dd>
            <dt>Before runs</dt>
            <dd data-testid="source-ttl">
              {source.syncBeforeRunMaxAgeSeconds === null
                ? <span className="faint">runs use the targets as last synced</span>
                : `synced first when older than ${ttlWords(source.syncBeforeRunMaxAgeSeconds)}; if that fails, ${source.syncBeforeRunRequired ? 'the run fails' : 'the run goes on with a warning'}`}
            </dd>
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

/** 900 → "15 min", 7200 → "2 h", 45 → "45 s". */
function ttlWords(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`
  if (seconds % 60 === 0) return `${seconds / 60} min`
  return `${seconds} s`
}
