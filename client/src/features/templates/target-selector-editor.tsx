'use client'
/** Which targets a template runs on: listed targets, inventories, tags (all of) and name patterns. */
import Link from 'next/link'
import { ChipsInput } from '@/components/inputs'
import { Field } from '@/components/ui'

export interface Selector {
  targetIds: string[]
  inventoryIds: string[]
  tags: string[]
  namePatterns: string[]
}

export function TargetSelectorEditor({
  value,
  onChange,
  targets,
  inventories,
  errorFor,
}: {
  value: Selector
  onChange(v: Selector): void
  targets: ReadonlyArray<{ id: string; name: string; host: string; tags: readonly string[] }>
  inventories: ReadonlyArray<{ id: string; name: string }>
  errorFor(path: string): string | undefined
}) {
  const toggle = (key: 'targetIds' | 'inventoryIds', id: string) =>
    onChange({ ...value, [key]: value[key].includes(id) ? value[key].filter((x) => x !== id) : [...value[key], id] })
  return (
    <div className="grid-2">
      <Field label="Targets" error={errorFor('targetSelector.targetIds')}>
        {() =>
          targets.length ? (
            <div className="pick-list" role="group" aria-label="Targets">
              {targets.map((t) => (
                <label key={t.id}>
                  <input type="checkbox" checked={value.targetIds.includes(t.id)} onChange={() => toggle('targetIds', t.id)} />
                  <span className="grow truncate">
                    {t.name} <span className="faint small mono">{t.host}</span>
                  </span>
                </label>
              ))}
            </div>
          ) : (
            <p className="muted small" style={{ margin: 0 }}>
              No targets yet. <Link href="/targets">Add a target</Link> first, or select by tag.
            </p>
          )
        }
      </Field>
      <div className="stack">
        <Field label="Inventories" error={errorFor('targetSelector.inventoryIds')}>
          {() =>
            inventories.length ? (
              <div className="pick-list" role="group" aria-label="Inventories" style={{ maxHeight: 120 }}>
                {inventories.map((i) => (
                  <label key={i.id}>
                    <input type="checkbox" checked={value.inventoryIds.includes(i.id)} onChange={() => toggle('inventoryIds', i.id)} />
                    {i.name}
                  </label>
                ))}
              </div>
            ) : (
              <p className="muted small" style={{ margin: 0 }}>
                No inventories. <Link href="/inventories">Create one</Link> to reuse a selection.
              </p>
            )
          }
        </Field>
        <Field label="Tags (all of)" error={errorFor('targetSelector.tags')}>
          {(p) => <ChipsInput id={p.id} value={value.tags} onChange={(tags) => onChange({ ...value, tags })} placeholder="web, prod" invalid={p['aria-invalid']} describedBy={p['aria-describedby']} />}
        </Field>
        <Field label="Name patterns" error={errorFor('targetSelector.namePatterns')} hint="Globs such as web-*; with tags, both must match.">
          {(p) => <ChipsInput id={p.id} value={value.namePatterns} onChange={(namePatterns) => onChange({ ...value, namePatterns })} placeholder="web-*" invalid={p['aria-invalid']} describedBy={p['aria-describedby']} />}
        </Field>
      </div>
    </div>
  )
}
