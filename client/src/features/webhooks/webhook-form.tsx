'use client'
/**
 * Create or edit an inbound webhook endpoint: its name, how the JSON body maps to the parameters (a path
 * into the body or a literal, per parameter), the signing secret (a PASSWORD credential, never shown), and
 * its limits. Creating hands the new URL token to `onCreated`, which shows it once.
 */
import { useState } from 'react'
import { useMutation } from 'urql'
import { EditDialog } from '@/components/edit-dialog'
import { Icons } from '@/components/icons'
import { Field } from '@/components/ui'
import { SecretCredentialField, type SecretCredentialOption } from '@/features/notifications/secret-credential-field'
import { fieldError, NO_ERRORS, toFormErrors, withUnclaimed, type FormErrors } from '@/lib/errors'
import type { ParameterDefinition } from '@/lib/parameters'
import { mappingInput, mappingRows, type MappingRow, type MappingSource } from '@/lib/webhooks'
import { CreateWebhookEndpoint, UpdateWebhookEndpoint, type WebhookEndpoint } from './queries'

export interface WebhookTarget {
  kind: 'TEMPLATE' | 'WORKFLOW'
  id: string
  name: string
  parameters: readonly ParameterDefinition[]
}

export interface NewToken {
  endpointName: string
  path: string
  signed: boolean
  rows: MappingRow[]
}

const SHOWN = ['name', 'enabled', 'parameterMapping', 'secretCredentialId', 'rateLimitPerMinute', 'maxBodyBytes', 'replayWindowSeconds', 'templateId', 'workflowId']

export function WebhookForm({
  endpoint,
  target,
  credentials,
  onClose,
  onSaved,
  onCreated,
}: {
  endpoint: WebhookEndpoint | null
  target: WebhookTarget
  credentials: readonly SecretCredentialOption[]
  onClose(): void
  onSaved(): void
  onCreated(token: NewToken): void
}) {
  const [name, setName] = useState(endpoint?.name ?? '')
  const [enabled, setEnabled] = useState(endpoint?.enabled ?? true)
  // A new endpoint starts with a row per required parameter without a default: those must be mapped.
  const [rows, setRows] = useState<MappingRow[]>(() =>
    endpoint ? mappingRows(endpoint.parameterMapping) : target.parameters.filter((p) => p.required && p.default == null).map((p) => ({ parameter: p.name, source: 'path', text: '' })),
  )
  const [secretId, setSecretId] = useState(endpoint?.secretCredential?.id ?? '')
  const [rate, setRate] = useState(String(endpoint?.rateLimitPerMinute ?? 60))
  const [maxBody, setMaxBody] = useState(String(endpoint?.maxBodyBytes ?? 65536))
  const [replay, setReplay] = useState(String(endpoint?.replayWindowSeconds ?? 300))
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [createState, create] = useMutation(CreateWebhookEndpoint)
  const [updateState, update] = useMutation(UpdateWebhookEndpoint)
  const err = (f: string) => fieldError(errors, f)
  const setRow = (i: number, patch: Partial<MappingRow>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)))
  const unmapped = target.parameters.filter((p) => !rows.some((r) => r.parameter === p.name))

  const submit = async () => {
    const { mapping, errors: local } = mappingInput(rows, target.parameters)
    const num = (field: string, v: string) => {
      if (!/^\d+$/.test(v.trim())) {
        local[field] = `“${v}” is not a whole number.`
        return undefined
      }
      return Number(v.trim())
    }
    const input = {
      name: name.trim(),
      enabled,
      parameterMapping: mapping,
      secretCredentialId: secretId || null,
      rateLimitPerMinute: num('rateLimitPerMinute', rate),
      maxBodyBytes: num('maxBodyBytes', maxBody),
      replayWindowSeconds: num('replayWindowSeconds', replay),
    }
    if (!input.name) local.name = 'Enter a name, e.g. what calls it (“git push”).'
    if (Object.keys(local).length) return setErrors({ form: null, fields: local, code: null })
    setErrors(NO_ERRORS)
    if (endpoint) {
      const r = await update({ id: endpoint.id, input })
      if (r.error) return setErrors(withUnclaimed(toFormErrors(r.error), SHOWN))
      onSaved()
    } else {
      const r = await create({ input: { ...input, ...(target.kind === 'TEMPLATE' ? { templateId: target.id } : { workflowId: target.id }) } })
      if (r.error || !r.data) return setErrors(withUnclaimed(toFormErrors(r.error), SHOWN))
      onCreated({ endpointName: r.data.createWebhookEndpoint.endpoint.name, path: r.data.createWebhookEndpoint.path, signed: !!r.data.createWebhookEndpoint.endpoint.secretCredential, rows })
    }
  }

  return (
    <EditDialog
      title={endpoint ? `Edit webhook “${endpoint.name}”` : `New webhook for ${target.kind === 'TEMPLATE' ? 'template' : 'workflow'} “${target.name}”`}
      submitLabel={endpoint ? 'Save' : 'Create endpoint'}
      form={{ busy: createState.fetching || updateState.fetching, errors }}
      onClose={onClose}
      onSubmit={submit}
    >
      <div className="grid-2">
        <Field label="Name" required error={err('name')} hint="What calls it, e.g. “git push” or “monitoring alert”.">
          {(p) => <input {...p} name="name" value={name} autoComplete="off" onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <div className="field">
          <span className="field-label">State</span>
          <label className="check" style={{ minHeight: 32 }}>
            <input type="checkbox" role="switch" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled (a disabled endpoint answers 404)
          </label>
        </div>
      </div>
      <fieldset className="fieldset wf-plain">
        <legend className="field-label">Parameters from the request</legend>
        <p className="small muted" style={{ margin: 0 }}>
          Each row gives one parameter a value: the value at a path of the JSON body (<code>/repository/name</code> or <code>repository.name</code>, <code>commits.0.id</code>) or a
          literal. A path missing from a call leaves the parameter to its default.{target.parameters.length ? '' : ` ${target.kind === 'TEMPLATE' ? 'This template' : 'This workflow'} has no parameters.`}
        </p>
        {rows.map((r, i) => (
          <div key={i} className="mapping-row" data-mapping-row={r.parameter || i}>
            <Field label={`Parameter ${i + 1}`} error={err(`parameterMapping.${r.parameter}`) ?? err(`parameterMapping.row${i}`)}>
              {(p) => (
                <select {...p} name={`mapping.${i}.parameter`} value={r.parameter} onChange={(e) => setRow(i, { parameter: e.target.value })}>
                  <option value="">(choose)</option>
                  {!target.parameters.some((d) => d.name === r.parameter) && r.parameter ? <option value={r.parameter}>{r.parameter} (not a parameter)</option> : null}
                  {target.parameters.map((d) => (
                    <option key={d.name} value={d.name} disabled={d.name !== r.parameter && rows.some((x) => x.parameter === d.name)}>
                      {d.label || d.name}
                      {d.required && d.default == null ? ' (required)' : ''}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="from">
              {(p) => (
                <select {...p} name={`mapping.${i}.source`} value={r.source} onChange={(e) => setRow(i, { source: e.target.value as MappingSource })}>
                  <option value="path">JSON path in the body</option>
                  <option value="value">Literal value</option>
                </select>
              )}
            </Field>
            <Field label={r.source === 'path' ? 'Path' : 'Value'}>
              {(p) => (
                <input
                  {...p}
                  name={`mapping.${i}.text`}
                  className="mono"
                  value={r.text}
                  spellCheck={false}
                  autoComplete="off"
                  placeholder={r.source === 'path' ? '/repository/name' : 'prod'}
                  onChange={(e) => setRow(i, { text: e.target.value })}
                />
              )}
            </Field>
            <button type="button" className="btn ghost icon" aria-label={`Remove mapping ${i + 1}${r.parameter ? ` (${r.parameter})` : ''}`} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
              <Icons.trash />
            </button>
          </div>
        ))}
        {err('parameterMapping') && !rows.some((r) => errors.fields[`parameterMapping.${r.parameter}`]) ? (
          <div className="error small" role="alert">
            {err('parameterMapping')}
          </div>
        ) : null}
        {unmapped.length ? (
          <div>
            <button type="button" className="btn sm" onClick={() => setRows([...rows, { parameter: unmapped[0]!.name, source: 'path', text: '' }])}>
              <Icons.plus /> Map a parameter
            </button>
          </div>
        ) : null}
      </fieldset>
      <SecretCredentialField
        label="Signing secret"
        name="secretCredentialId"
        current={endpoint?.secretCredential ?? null}
        credentials={credentials}
        value={secretId}
        onChange={setSecretId}
        error={err('secretCredentialId')}
        noneLabel="(none: calls are not signed)"
        hint="Optional: a password credential whose password signs calls (X-Switchyard-Signature). Without one, anyone with the URL can call it."
      />
      <div className="grid-3">
        <Field label="Calls per minute" error={err('rateLimitPerMinute')} hint="More are refused with 429.">
          {(p) => <input {...p} name="rateLimitPerMinute" inputMode="numeric" value={rate} onChange={(e) => setRate(e.target.value)} />}
        </Field>
        <Field label="Largest body (bytes)" error={err('maxBodyBytes')} hint="At most 1 MiB (1048576).">
          {(p) => <input {...p} name="maxBodyBytes" inputMode="numeric" value={maxBody} onChange={(e) => setMaxBody(e.target.value)} />}
        </Field>
        <Field label="Replay window (seconds)" error={err('replayWindowSeconds')} hint="How far a signature’s time may be from now.">
          {(p) => <input {...p} name="replayWindowSeconds" inputMode="numeric" value={replay} onChange={(e) => setReplay(e.target.value)} />}
        </Field>
      </div>
    </EditDialog>
  )
}
