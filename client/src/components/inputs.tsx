'use client'
/** Editors for lists, tags and key/value maps, used by the generated config form and the CRUD forms. */
import { useState } from 'react'
import { Icons } from './icons'

export function ChipsInput({
  id,
  value,
  onChange,
  placeholder,
  invalid,
  describedBy,
}: {
  id?: string
  value: readonly string[]
  onChange(v: string[]): void
  placeholder?: string
  invalid?: boolean
  describedBy?: string | undefined
}) {
  const [draft, setDraft] = useState('')
  const commit = (text: string) => {
    const parts = text.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean)
    if (parts.length) onChange([...value, ...parts.filter((p) => !value.includes(p))])
    setDraft('')
  }
  return (
    <div className="chips" aria-invalid={invalid || undefined}>
      {value.map((v) => (
        <span key={v} className="chip">
          {v}
          <button type="button" aria-label={`Remove ${v}`} onClick={() => onChange(value.filter((x) => x !== v))}>
            ×
          </button>
        </span>
      ))}
      <input
        id={id}
        value={draft}
        placeholder={value.length ? '' : placeholder}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy}
        onChange={(e) => {
          const v = e.target.value
          if (/[,\s]$/.test(v)) commit(v)
          else setDraft(v)
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault()
            commit(draft)
          } else if (e.key === 'Backspace' && !draft && value.length) onChange(value.slice(0, -1))
        }}
        onBlur={() => draft && commit(draft)}
      />
    </div>
  )
}

export function StringListEditor({
  id,
  value,
  onChange,
  placeholder,
  mono,
  addLabel = 'Add',
  max,
  invalid,
  describedBy,
  itemLabel = 'Item',
  name,
  numeric,
}: {
  id?: string
  /** Each row's input is named `${name}.${index}`. */
  name?: string
  /** Whole numbers: a short numeric input per row instead of a growing text area. */
  numeric?: boolean
  value: readonly string[]
  onChange(v: string[]): void
  placeholder?: string
  mono?: boolean
  addLabel?: string
  max?: number | undefined
  invalid?: boolean
  describedBy?: string | undefined
  itemLabel?: string
}) {
  const set = (i: number, v: string) => onChange(value.map((x, j) => (j === i ? v : x)))
  return (
    <div className="list-editor">
      {value.map((item, i) => (
        <div className="item" key={i}>
          <span className="index">{i + 1}</span>
          {numeric ? (
            <input
              id={i === 0 ? id : undefined}
              name={name ? `${name}.${i}` : undefined}
              inputMode="numeric"
              style={{ maxWidth: 160 }}
              value={item}
              placeholder={placeholder}
              aria-label={`${itemLabel} ${i + 1}`}
              aria-invalid={invalid || undefined}
              aria-describedby={describedBy}
              onChange={(e) => set(i, e.target.value)}
            />
          ) : (
            <textarea
              id={i === 0 ? id : undefined}
              name={name ? `${name}.${i}` : undefined}
              className={`autogrow${mono ? ' mono' : ''}`}
              rows={1}
              value={item}
              placeholder={placeholder}
              aria-label={`${itemLabel} ${i + 1}`}
              aria-invalid={invalid || undefined}
              aria-describedby={describedBy}
              onChange={(e) => set(i, e.target.value)}
            />
          )}
          <button type="button" className="btn ghost icon" aria-label={`Remove ${itemLabel.toLowerCase()} ${i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
            <Icons.x />
          </button>
        </div>
      ))}
      <div>
        <button type="button" className="btn sm" onClick={() => onChange([...value, ''])} disabled={max !== undefined && value.length >= max}>
          <Icons.plus /> {addLabel}
        </button>
      </div>
    </div>
  )
}

export function KeyValueEditor({
  name,
  value,
  onChange,
  keyPlaceholder = 'name',
  valuePlaceholder = 'value',
  invalid,
  describedBy,
  addLabel = 'Add',
}: {
  /** Names the inputs `<name>.<row>.name` / `.value` (forms and tests find them by it). */
  name?: string
  value: ReadonlyArray<readonly [string, string]>
  onChange(v: Array<[string, string]>): void
  keyPlaceholder?: string
  valuePlaceholder?: string
  invalid?: boolean
  describedBy?: string | undefined
  addLabel?: string
}) {
  const rows = value.map(([k, v]) => [k, v] as [string, string])
  const set = (i: number, k: string, v: string) => onChange(rows.map((r, j) => (j === i ? [k, v] : r)))
  return (
    <div className="list-editor">
      {rows.map(([k, v], i) => (
        <div className="item" key={i}>
          <input className="mono" style={{ maxWidth: 220 }} name={name ? `${name}.${i}.name` : undefined} value={k} placeholder={keyPlaceholder} aria-label={`Name ${i + 1}`} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set(i, e.target.value, v)} />
          <input className="mono" name={name ? `${name}.${i}.value` : undefined} value={v} placeholder={valuePlaceholder} aria-label={`Value ${i + 1}`} onChange={(e) => set(i, k, e.target.value)} />
          <button type="button" className="btn ghost icon" aria-label={`Remove row ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            <Icons.x />
          </button>
        </div>
      ))}
      <div>
        <button type="button" className="btn sm" onClick={() => onChange([...rows, ['', '']])}>
          <Icons.plus /> {addLabel}
        </button>
      </div>
    </div>
  )
}

export function Segmented<T extends string>({ value, options, onChange, label }: { value: T; options: ReadonlyArray<{ value: NoInfer<T>; label: string }>; onChange(v: NoInfer<T>): void; label: string }) {
  return (
    <div className="seg" role="group" aria-label={label}>
      {options.map((o) => (
        <button key={o.value} type="button" aria-pressed={value === o.value} onClick={() => onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  )
}
