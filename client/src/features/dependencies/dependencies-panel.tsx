'use client'
/**
 * A template's dependencies (on its page): the templates it runs after and the ones it starts, each in
 * one sentence with its parameters, a switch, edit and delete (for its owner and admins), and its recent
 * triggers — the upstream run that matched and the run it started, or why none did.
 */
import Link from 'next/link'
import { useMutation, useQuery } from 'urql'
import { useEffect, useState } from 'react'
import { useConfirmAction } from '@/components/confirm-action'
import { ConfirmDialog } from '@/components/dialog'
import { useEditor } from '@/components/edit-dialog'
import { Icons } from '@/components/icons'
import { useSessionContext } from '@/components/session-provider'
import { EmptyState, ErrorAlert, Panel, RelativeTime, Skeleton, StatusBadge } from '@/components/ui'
import { dependencySentenceParts, directionFrom, triggerStatusLabel, type Direction } from '@/lib/dependencies'
import { errorMessage, toFormErrors } from '@/lib/errors'
import { formatDateTime } from '@/lib/format'
import { DependencyForm } from './dependency-form'
import { DeleteTemplateDependency, TemplateDependenciesQuery, UpdateTemplateDependency, type DependencyTrigger, type TemplateDependency } from './queries'

/** Stable (a new context object per render would re-run the query forever). */
const CTX_DEPENDENCIES = { additionalTypenames: ['TemplateDependency', 'JobTemplate'] }

export function DependenciesPanel({ template }: { template: { id: string; name: string } }) {
  const { canWrite, isAdmin, session } = useSessionContext()
  const [result, refetch] = useQuery({ query: TemplateDependenciesQuery, variables: { templateId: template.id }, context: CTX_DEPENDENCIES })
  const reload = () => refetch({ requestPolicy: 'network-only' })
  const editor = useEditor<TemplateDependency>(reload)
  const deletion = useConfirmAction<TemplateDependency>(DeleteTemplateDependency, { onDone: reload })
  const [, update] = useMutation(UpdateTemplateDependency)
  const [flipping, setFlipping] = useState<Record<string, boolean>>({})
  const [actionError, setActionError] = useState<string | null>(null)
  const list = result.data?.templateDependencies
  const hasDependencies = !!list?.length
  // New triggers show up without reloading the page (there is no subscription for them).
  useEffect(() => {
    if (!hasDependencies) return
    const t = setInterval(() => refetch({ requestPolicy: 'network-only' }), 5000)
    return () => clearInterval(t)
  }, [hasDependencies, refetch])
  const mayChange = (d: TemplateDependency) => canWrite && (isAdmin || d.owner.id === session.user.id)
  const groups: Array<{ direction: Direction; title: string }> = [
    { direction: 'AFTER', title: 'Runs after' },
    { direction: 'TRIGGERS', title: 'Starts' },
  ]
  const newButton = (label: string, small?: boolean) =>
    canWrite ? (
      <button type="button" className={`btn${small ? ' sm' : ' primary'}`} onClick={editor.create}>
        <Icons.plus /> {label}
      </button>
    ) : undefined

  return (
    <>
      <Panel title="Dependencies" actions={list?.length ? newButton('New dependency', true) : undefined}>
        <div className="stack" data-testid="dependencies">
          <ErrorAlert message={actionError} />
          {result.error && !list ? (
            <ErrorAlert message={toFormErrors(result.error).form} />
          ) : !list ? (
            <Skeleton rows={2} />
          ) : list.length === 0 ? (
            <EmptyState title="No dependencies" icon={<Icons.inbox />} action={newButton('Add a dependency')}>
              Run this template after another one ends (succeeds, fails…), or start another one when this one ends.
            </EmptyState>
          ) : (
            groups.map(({ direction, title }) => {
              const deps = list.filter((d) => directionFrom(template.id, d) === direction)
              if (!deps.length) return null
              return (
                <section key={direction} className="stack" style={{ gap: 8 }} aria-label={title}>
                  <h3 className="section-title">{title}</h3>
                  {deps.map((d) => {
                    const other = direction === 'AFTER' ? d.upstream : d.downstream
                    const enabled = flipping[d.id] ?? d.enabled
                    const params = Object.entries((d.parameters ?? {}) as Record<string, unknown>)
                    const sentence = dependencySentenceParts(direction, d.onStatuses)
                    return (
                      <article key={d.id} className="trigger-card" data-dependency={other.name} data-direction={direction}>
                        <div className="trigger-card-head">
                          <span className="grow">
                            {sentence.before}
                            <Link href={`/templates/${other.id}`}>{other.name}</Link>
                            {sentence.after}
                          </span>
                          <span className={`badge ${enabled ? 'ok' : ''}`}>{enabled ? 'Enabled' : 'Disabled'}</span>
                        </div>
                        <div className="small muted">
                          {params.length ? (
                            <>
                              Parameters:{' '}
                              {params.map(([k, v], i) => (
                                <span key={k}>
                                  {i ? ', ' : ''}
                                  <span className="mono">
                                    {k} = {typeof v === 'string' ? v : JSON.stringify(v)}
                                  </span>
                                </span>
                              ))}
                            </>
                          ) : (
                            'Parameters: the defaults.'
                          )}{' '}
                          · runs as {d.owner.username}
                        </div>
                        {mayChange(d) ? (
                          <div className="row wrap" style={{ gap: 8 }}>
                            <label className="check">
                              <input
                                type="checkbox"
                                role="switch"
                                aria-label={`Dependency on ${other.name} enabled`}
                                checked={enabled}
                                disabled={d.id in flipping}
                                onChange={async (e) => {
                                  const next = e.target.checked
                                  setActionError(null)
                                  setFlipping((f) => ({ ...f, [d.id]: next }))
                                  const r = await update({ id: d.id, input: { enabled: next } })
                                  if (r.error) setActionError(errorMessage(r.error))
                                  setFlipping(({ [d.id]: _, ...rest }) => rest)
                                }}
                              />{' '}
                              Enabled
                            </label>
                            <span className="grow" />
                            <button type="button" className="btn sm ghost icon" aria-label={`Edit dependency on ${other.name}`} onClick={() => editor.edit(d)}>
                              <Icons.edit />
                            </button>
                            <button type="button" className="btn sm ghost icon" aria-label={`Delete dependency on ${other.name}`} onClick={() => deletion.ask(d)}>
                              <Icons.trash />
                            </button>
                          </div>
                        ) : null}
                        <details open={d.recentTriggers.length > 0}>
                          <summary>Recent triggers ({d.recentTriggers.length})</summary>
                          {d.recentTriggers.length ? <TriggersTable triggers={d.recentTriggers} upstream={d.upstream.name} downstream={d.downstream.name} /> : <p className="small muted" style={{ margin: 0 }}>None yet.</p>}
                        </details>
                      </article>
                    )
                  })}
                </section>
              )
            })
          )}
        </div>
      </Panel>
      {editor.isOpen && result.data ? <DependencyForm template={template} dependency={editor.item} templates={result.data.jobTemplates} onClose={editor.close} onSaved={editor.saved} /> : null}
      <ConfirmDialog {...deletion.dialog} title="Delete this dependency?" confirmLabel="Delete dependency" danger>
        {deletion.item ? `${deletion.item.downstream.name} no longer runs after ${deletion.item.upstream.name}. Runs it started stay.` : null}
      </ConfirmDialog>
    </>
  )
}

function TriggersTable({ triggers, upstream, downstream }: { triggers: readonly DependencyTrigger[]; upstream: string; downstream: string }) {
  return (
    <div className="table-scroll">
      <table className="table" data-testid="dependency-triggers">
        <thead>
          <tr>
            <th>When</th>
            <th>{upstream}</th>
            <th>Outcome</th>
            <th>{downstream}</th>
          </tr>
        </thead>
        <tbody>
          {triggers.map((t, i) => (
            <tr key={`${t.createdAt}-${i}`} data-trigger-status={t.status}>
              <td className="small" title={formatDateTime(t.createdAt)}>
                <RelativeTime iso={t.createdAt} />
              </td>
              <td className="small">
                {t.upstreamRun ? (
                  <span className="row" style={{ gap: 6 }}>
                    <Link href={`/runs/${t.upstreamRun.id}`}>Run #{t.upstreamRun.number}</Link>
                    <StatusBadge status={t.upstreamRun.status} />
                  </span>
                ) : (
                  <span className="faint">deleted</span>
                )}
              </td>
              <td className="small">
                {triggerStatusLabel(t.status)}
                {t.reason ? <span className="muted">: {t.reason}</span> : null}
              </td>
              <td className="small">
                {t.run ? (
                  <span className="row" style={{ gap: 6 }}>
                    <Link href={`/runs/${t.run.id}`}>Run #{t.run.number}</Link>
                    <StatusBadge status={t.run.status} />
                  </span>
                ) : (
                  <span className="faint">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
