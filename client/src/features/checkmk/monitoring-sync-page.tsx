'use client'
/**
 * Monitoring sync: every compare_devices / sync_devices template with its latest run's counts (in sync,
 * different, missing, extra, skipped — or what the sync did), a link to that run's dashboard, and for
 * operators "Run now". The dashboard itself is on the run's page (DeviceResultsPanel).
 */
import Link from 'next/link'
import { useState } from 'react'
import { useQuery } from 'urql'
import { Icons } from '@/components/icons'
import { ResourceTable } from '@/components/resource-table'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, PageHeader, Panel, RelativeTime, StatusBadge } from '@/components/ui'
import { RunNowDialog } from '@/features/templates/run-now-dialog'
import { actionTiles, statusTiles } from '@/lib/device-results'
import { ComparisonTemplatesQuery } from './queries'
import type { ResultOf } from '@/lib/graphql'

type ComparisonTemplate = ResultOf<typeof ComparisonTemplatesQuery>['jobTemplates'][number]

/** Stable (a new context object per render would re-run the query forever); a new run refreshes the page. */
const CTX_RUNS = { additionalTypenames: ['JobRun'] }

export function MonitoringSyncPage() {
  useTitle('Monitoring sync')
  const [result] = useQuery({ query: ComparisonTemplatesQuery, context: CTX_RUNS, requestPolicy: 'cache-and-network' })
  const { canWrite } = useSessionContext()
  const [running, setRunning] = useState<ComparisonTemplate | null>(null)
  return (
    <>
      <PageHeader
        title="Monitoring sync"
        subtitle="Nautobot devices against Checkmk hosts: the latest comparison of each template. Open one to see the differences and sync selected devices."
        actions={
          canWrite ? (
            <Link className="btn primary" href="/templates/new">
              <Icons.plus /> New template
            </Link>
          ) : null
        }
      />
      <Panel flush>
        <ResourceTable
          items={result.data?.jobTemplates}
          error={result.error}
          testId="monitoring-sync-table"
          scroll
          headers={['Template', 'Latest run', 'Devices']}
          empty={
            <EmptyState title="No Checkmk templates yet" icon={<Icons.source />}>
              Create a template of type compare_devices (reads only) or sync_devices with an inventory source and a Checkmk site; its runs show here.
            </EmptyState>
          }
        >
          {(t) => <TemplateRow key={t.id} template={t} canWrite={canWrite} onRun={() => setRunning(t)} />}
        </ResourceTable>
      </Panel>
      {running ? <RunNowDialog template={running} onClose={() => setRunning(null)} /> : null}
    </>
  )
}

function TemplateRow({ template: t, canWrite, onRun }: { template: ComparisonTemplate; canWrite: boolean; onRun(): void }) {
  const run = t.latestRun
  const counts = run?.deviceResultCounts ?? null
  const compare = t.jobType === 'compare_devices'
  const tiles = counts ? (compare ? statusTiles(counts) : actionTiles(counts)).filter((x) => x.count > 0) : []
  return (
    <tr data-template={t.name}>
      <td>
        <Link href={`/templates/${encodeURIComponent(t.id)}`} style={{ fontWeight: 600 }}>
          {t.name}
        </Link>
        <div className="small faint mono">{t.jobType}</div>
      </td>
      <td>
        {run ? (
          <span className="row wrap" style={{ gap: 6 }}>
            <Link href={`/runs/${encodeURIComponent(run.id)}`}>#{run.number}</Link>
            <StatusBadge status={run.status} />
            <span className="small muted">
              <RelativeTime iso={run.finishedAt ?? run.createdAt} />
            </span>
          </span>
        ) : (
          <span className="small muted">Never run</span>
        )}
      </td>
      <td data-testid="latest-counts">
        {tiles.length ? (
          <span className="row wrap" style={{ gap: 4 }}>
            {tiles.map((x) => (
              <span key={x.key} className={`badge ${x.tone}`} data-count={x.key}>
                {x.count} {x.label.toLowerCase()}
              </span>
            ))}
          </span>
        ) : (
          <span className="faint">—</span>
        )}
      </td>
      <td className="actions">
        {run ? (
          <Link className="btn sm ghost" href={`/runs/${encodeURIComponent(run.id)}`} aria-label={`Open the latest run of ${t.name}`}>
            Open
          </Link>
        ) : null}{' '}
        {canWrite ? (
          <button type="button" className="btn sm" onClick={onRun} aria-label={`Run ${t.name} now`}>
            <Icons.play /> Run now
          </button>
        ) : null}
      </td>
    </tr>
  )
}
