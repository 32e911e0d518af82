'use client'
/**
 * A TEMPLATE node's overrides: its own targets (the template form's selector editor), timeout and retry
 * policy. Every field starts blank — blank inherits the template's value, shown as the placeholder — so
 * a node overrides only what its author typed. Errors come from the API at `nodes.<i>.overrides.…`.
 */
import { Field } from '@/components/ui'
import { TargetSelectorEditor } from '@/features/templates/target-selector-editor'
import { overrideCount, type OverridesDraft } from '@/lib/workflow-draft'
import type { EditorOptions, TemplateOption } from './queries'

export function NodeOverridesEditor({
  value,
  onChange,
  template,
  usesTargets,
  targets,
  inventories,
  errorFor,
}: {
  value: OverridesDraft
  onChange(v: OverridesDraft): void
  template: TemplateOption | undefined
  /** False for a job type that does not run on targets (the API refuses a selector for it). */
  usesTargets: boolean
  targets: EditorOptions['targets']
  inventories: EditorOptions['inventories']
  /** The message for a path below the node's `overrides` (`timeoutSeconds`, `targetSelector.tags`). */
  errorFor(path: string): string | undefined
}) {
  const set = (patch: Partial<OverridesDraft>) => onChange({ ...value, ...patch })
  const n = overrideCount(value)
  const inherited = (v: number | string | null | undefined, none = 'none') => `template: ${v == null ? none : String(v)}`
  return (
    <fieldset className="fieldset wf-plain" data-testid="node-overrides">
      <legend className="section-title">Overrides {n ? <span className="badge">{n} set</span> : <span className="muted small">(none: the template’s settings)</span>}</legend>
      <p className="muted small" style={{ margin: 0 }}>
        Blank fields keep the template’s. Its concurrency limit, overlap policy and permissions always apply.
      </p>
      {usesTargets || value.replaceTargets ? (
        <>
          <label className="check">
            <input type="checkbox" name="replaceTargets" checked={value.replaceTargets} onChange={(e) => set({ replaceTargets: e.target.checked })} /> Run on other targets than the template’s
          </label>
          {errorFor('targetSelector') && !value.replaceTargets ? <div className="error" role="alert">{errorFor('targetSelector')}</div> : null}
          {value.replaceTargets ? (
            <>
              {errorFor('targetSelector') ? <div className="error" role="alert">{errorFor('targetSelector')}</div> : null}
              <TargetSelectorEditor value={value.selector} onChange={(selector) => set({ selector })} targets={targets} inventories={inventories} errorFor={errorFor} />
            </>
          ) : null}
        </>
      ) : null}
      <div className="grid-2">
        <Field label="Timeout (seconds)" error={errorFor('timeoutSeconds')} hint="Per attempt.">
          {(p) => <input {...p} name="overrideTimeoutSeconds" inputMode="numeric" value={value.timeoutSeconds} placeholder={inherited(template?.timeoutSeconds)} onChange={(e) => set({ timeoutSeconds: e.target.value })} />}
        </Field>
        <Field label="Max attempts" error={errorFor('retryMaxAttempts')} hint="1 = no retry.">
          {(p) => <input {...p} name="overrideRetryMaxAttempts" inputMode="numeric" value={value.retryMaxAttempts} placeholder={inherited(template?.retryMaxAttempts)} onChange={(e) => set({ retryMaxAttempts: e.target.value })} />}
        </Field>
        <Field label="Retry delay (seconds)" error={errorFor('retryDelaySeconds')}>
          {(p) => <input {...p} name="overrideRetryDelaySeconds" inputMode="numeric" value={value.retryDelaySeconds} placeholder={inherited(template?.retryDelaySeconds)} onChange={(e) => set({ retryDelaySeconds: e.target.value })} />}
        </Field>
        <Field label="Backoff" error={errorFor('retryBackoff')}>
          {(p) => (
            <select {...p} name="overrideRetryBackoff" value={value.retryBackoff} onChange={(e) => set({ retryBackoff: e.target.value as OverridesDraft['retryBackoff'] })}>
              <option value="">The template’s{template ? ` (${template.retryBackoff.toLowerCase()})` : ''}</option>
              <option value="FIXED">Fixed</option>
              <option value="EXPONENTIAL">Exponential</option>
            </select>
          )}
        </Field>
      </div>
    </fieldset>
  )
}
