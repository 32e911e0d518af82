'use client'
import Link from 'next/link'
import { useState } from 'react'
import { useQuery } from 'urql'
import { Icons } from '@/components/icons'
import { CreateButton, ListPageHeader, ResourceTable } from '@/components/resource-table'
import { SearchBox, useDebouncedSearch } from '@/components/search-box'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, Panel, RelativeTime, Tags } from '@/components/ui'
import { DeleteTemplateButton } from './delete-template'
import { JobTypesQuery, TemplatesQuery, type Template } from './queries'
import { RunNowDialog } from './run-now-dialog'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_JOBTEMPLATE = { additionalTypenames: ['JobTemplate'] }


export function TemplatesPage() {
  useTitle('Templates')
  const { canWrite } = useSessionContext()
  const query = useDebouncedSearch()
  const { search } = query
  const [jobType, setJobType] = useState('')
  const [running, setRunning] = useState<Template | null>(null)
  const [types] = useQuery({ query: JobTypesQuery })
  const [result, refetch] = useQuery({
    query: TemplatesQuery,
    variables: { search: search || null, jobTypes: jobType ? [jobType] : null },
    context: CTX_JOBTEMPLATE,
  })
  const labels = new Map((types.data?.jobTypes ?? []).map((t) => [t.type, t.label]))
  const filtered = !!(search || jobType)

  return (
    <>
      <ListPageHeader title="Templates" subtitle="What to run, where, and how." create={{ label: 'New template', href: '/templates/new' }} />
      <div className="filters">
        <SearchBox label="Search templates" placeholder="Search templates…" search={query} />
        <select aria-label="Job type" value={jobType} onChange={(e) => setJobType(e.target.value)}>
          <option value="">All job types</option>
          {(types.data?.jobTypes ?? []).map((t) => (
            <option key={t.type} value={t.type}>
              {t.label}
            </option>
          ))}
        </select>
      </div>
      <Panel flush>
        <ResourceTable
          items={result.data?.jobTemplates}
          error={result.error}
          skeletonRows={6}
          testId="templates-table"
          scroll
          headers={['Name', 'Job type', 'Targets', { label: 'Parameters', className: 'num' }, 'Visibility', 'Owner', 'Updated']}
          empty={
            filtered ? (
              <EmptyState title="No templates match">Try another search or job type.</EmptyState>
            ) : (
              <EmptyState title="No templates yet" icon={<Icons.templates />} action={<CreateButton label="Create a template" href="/templates/new" />}>
                A template says what to run (a job type and its settings), on which targets, with which parameters. Create one, then run it from here.
              </EmptyState>
            )
          }
        >
          {(t) => (
            <tr key={t.id} data-template={t.name}>
              <td>
                <Link href={`/templates/${t.id}`} style={{ fontWeight: 600 }}>
                  {t.name}
                </Link>
                {t.description ? <div className="small faint truncate" style={{ maxWidth: 360 }}>{t.description}</div> : null}
              </td>
              <td>{labels.get(t.jobType) ?? t.jobType}</td>
              <td className="small">
                <SelectorSummary selector={t.targetSelector} />
              </td>
              <td className="num">{t.parameters.length || '—'}</td>
              <td>
                <span className={`badge plain ${t.visibility === 'GLOBAL' ? 'info' : ''}`}>{t.visibility === 'GLOBAL' ? 'Global' : 'Private'}</span>
              </td>
              <td className="small">{t.owner.username}</td>
              <td className="small">
                <RelativeTime iso={t.updatedAt} />
              </td>
              <td className="actions">
                {canWrite ? (
                  <>
                    <button type="button" className="btn sm" onClick={() => setRunning(t)}>
                      <Icons.play /> Run now
                    </button>{' '}
                    <Link className="btn sm ghost icon" href={`/templates/${t.id}`} aria-label={`Edit ${t.name}`} title="Edit">
                      <Icons.edit />
                    </Link>
                    <DeleteTemplateButton small template={t} onDeleted={() => refetch({ requestPolicy: 'network-only' })} />
                  </>
                ) : (
                  <Link className="btn sm ghost" href={`/templates/${t.id}`}>
                    View
                  </Link>
                )}
              </td>
            </tr>
          )}
        </ResourceTable>
      </Panel>
      {running ? <RunNowDialog template={running} onClose={() => setRunning(null)} /> : null}
    </>
  )
}

function SelectorSummary({ selector }: { selector: Template['targetSelector'] }) {
  const parts: string[] = []
  if (selector.targets.length) parts.push(selector.targets.length <= 2 ? selector.targets.map((t) => t.name).join(', ') : `${selector.targets.length} targets`)
  if (selector.inventories.length) parts.push(selector.inventories.map((i) => i.name).join(', '))
  if (selector.namePatterns.length) parts.push(selector.namePatterns.join(' '))
  if (!parts.length && !selector.tags.length) return <span className="faint">none</span>
  return (
    <span>
      {parts.join(' · ')} {selector.tags.length ? <Tags tags={selector.tags} /> : null}
    </span>
  )
}
