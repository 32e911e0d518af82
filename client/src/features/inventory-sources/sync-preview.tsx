'use client'
/**
 * The dry run's diff: counts, one sentence, the safety valve's verdict, then a row per target — to create
 * (with where it will point), to update (each field's old → new value), to remove, skipped devices with the
 * reason, and the unchanged ones folded away.
 */
import Link from 'next/link'
import type { ReactNode } from 'react'
import { Tags } from '@/components/ui'
import { attributePairs, changeValue, previewCounts, previewSummary } from '@/lib/inventory-sources'
import type { SyncPreview } from './queries'

export function SyncPreviewView({ preview }: { preview: SyncPreview }) {
  const counts = previewCounts(preview)
  return (
    <div className="stack" data-testid="sync-preview">
      <div className="preview-counts" role="list" aria-label="Dry run counts">
        {counts.map((c) => (
          <div key={c.key} className="stat" role="listitem" data-count={c.key}>
            <span className="label">{c.label}</span>
            <span className="value">{c.count}</span>
          </div>
        ))}
      </div>
      <p style={{ margin: 0 }} data-testid="preview-summary">
        {previewSummary(preview)}
      </p>
      {preview.refusal ? (
        <div className="alert warn" role="note" data-testid="preview-refusal">
          <strong>The safety valve would refuse this sync:</strong> {preview.refusal}. A sync changes nothing unless you force it.
        </div>
      ) : null}
      {preview.create.length ? (
        <DiffTable title="To create" kind="create" headers={['Target', 'Address', 'Tags', 'Attributes']}>
          {preview.create.map((t) => (
            <tr key={t.name} data-diff="create" data-name={t.name}>
              <td style={{ fontWeight: 600 }}>{t.name}</td>
              <td className="mono">
                {t.host}:{t.port}
              </td>
              <td>
                <Tags tags={t.tags} />
              </td>
              <td className="small mono">{attributePairs(t.attributes).join(' ') || <span className="faint">—</span>}</td>
            </tr>
          ))}
        </DiffTable>
      ) : null}
      {preview.update.length ? (
        <DiffTable title="To update" kind="update" headers={['Target', 'Changes']}>
          {preview.update.map((u) => (
            <tr key={u.name} data-diff="update" data-name={u.name}>
              <td style={{ fontWeight: 600 }}>{u.target ? <Link href="/targets">{u.name}</Link> : u.name}</td>
              <td>
                <ul className="change-list">
                  {u.changes.map((c) => (
                    <li key={c.field} data-field={c.field}>
                      <span className="mono">{c.field}</span>: <del className="mono">{changeValue(c.old)}</del> → <ins className="mono">{changeValue(c.new)}</ins>
                    </li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </DiffTable>
      ) : null}
      {preview.remove.length ? (
        <DiffTable title="To remove" kind="remove" headers={['Target', 'Host']}>
          {preview.remove.map((r) => (
            <tr key={r.name} data-diff="remove" data-name={r.name}>
              <td style={{ fontWeight: 600 }}>{r.name}</td>
              <td className="mono">{r.host}</td>
            </tr>
          ))}
        </DiffTable>
      ) : null}
      {preview.skipped.length ? (
        <DiffTable title="Skipped devices" kind="skipped" headers={['Device', 'Why']}>
          {preview.skipped.map((s) => (
            <tr key={s.name} data-diff="skipped" data-name={s.name}>
              <td style={{ fontWeight: 600 }}>{s.name}</td>
              <td className="small">{s.reason}</td>
            </tr>
          ))}
        </DiffTable>
      ) : null}
      {preview.unchanged.length ? (
        <details data-testid="preview-unchanged">
          <summary>
            {preview.unchanged.length} unchanged {preview.unchanged.length === 1 ? 'target' : 'targets'}
          </summary>
          <p className="small mono" style={{ margin: '6px 0 0' }}>
            {preview.unchanged.join(', ')}
          </p>
        </details>
      ) : null}
    </div>
  )
}

function DiffTable({ title, kind, headers, children }: { title: string; kind: string; headers: string[]; children: ReactNode }) {
  return (
    <section aria-label={title}>
      <h3 className="section-title">{title}</h3>
      <div className="table-scroll">
        <table className="table" data-testid={`diff-${kind}`}>
          <thead>
            <tr>
              {headers.map((h) => (
                <th key={h}>{h}</th>
              ))}
            </tr>
          </thead>
          <tbody>{children}</tbody>
        </table>
      </div>
    </section>
  )
}
