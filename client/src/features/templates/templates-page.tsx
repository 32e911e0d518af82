'use client'
import Link from 'next/link'
import { useEffect, useState } from 'react'
import { useQuery } from 'urql'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { useTitle } from '@/components/shell'
import { EmptyState, ErrorAlert, PageHeader, Panel, RelativeTime, Skeleton, Tags } from '@/components/ui'
import { toFormErrors } from '@/lib/errors'
import { DeleteTemplateButton } from './delete-template'
import { JobTypesQuery, TemplatesQuery, type Template } from './queries'
import { RunNowDialog } from './run-now-dialog'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_JOBTEMPLATE = { additionalTypenames: ['JobTemplate'] }


export function TemplatesPage() {
  useTitle('Templates')
  const { canWrite } = useSessionContext()
  const [searchInput, setSearchInput] = useState('')
  const [search, setSearch] = useState('')
  const [jobType, setJobType] = useState('')
  const [running, setRunning] = useState<Template | null>(null)
  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput.trim()), 200)
    return () => clearTimeout(t)
  }, [searchInput])
  const [types] = useQuery({ query: JobTypesQuery })
  const [result, refetch] = useQuery({
    query: TemplatesQuery,
    variables: { search: search || null, jobTypes: jobType ? [jobType] : null },
    context: CTX_JOBTEMPLATE,
  })
  const labels = new Map((types.data?.jobTypes ?? []).map((t) => [t.type, t.label]))
  const templates = result.data?.jobTemplates
  const filtered = !!(search || jobType)

  return (
    <>
      <PageHeader
        title="Templates"
        subtitle="What to run, where, and how."
        actions={
          canWrite ? (
            <Link className="btn primary" href="/templates/new">
              <Icons.plus /> New template
            </Link>
          ) : null
        }
      />
      <div className="filters">
        <input type="search" placeholder="Search templates…" aria-label="Search templates" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} style={{ minWidth: 260 }} />
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
        {result.error && !templates ? (
          <div style={{ padding: 16 }}>
            <ErrorAlert message={toFormErrors(result.error).form} />
          </div>
        ) : !templates ? (
          <Skeleton rows={6} />
        ) : templates.length === 0 ? (
          filtered ? (
            <EmptyState title="No templates match">Try another search or job type.</EmptyState>
          ) : (
            <EmptyState
              title="No templates yet"
              icon={<Icons.templates />}
              action={
                canWrite ? (
                  <Link className="btn primary" href="/templates/new">
                    <Icons.plus /> Create a template
                  </Link>
                ) : null
              }
            >
              A template says what to run (a job type and its settings), on which targets, with which parameters. Create one, then run it from here.
            </EmptyState>
          )
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="templates-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Job type</th>
                  <th>Targets</th>
                  <th className="num">Parameters</th>
                  <th>Visibility</th>
                  <th>Owner</th>
                  <th>Updated</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {templates.map((t) => (
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
                ))}
              </tbody>
            </table>
          </div>
        )}
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
