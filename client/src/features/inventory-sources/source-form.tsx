'use client'
/**
 * Create or edit an inventory source: where it is (URL, API token, TLS), which devices it selects (the
 * filter), how devices become targets (port, extra tags, default credential) and how a sync applies
 * (mode, safety valve). Field problems show under their fields, the form's own checks and the API's alike.
 */
import { useState, type ReactNode } from 'react'
import { EditDialog, useSaveForm } from '@/components/edit-dialog'
import { ChipsInput, Segmented } from '@/components/inputs'
import { Field } from '@/components/ui'
import { fixSummary } from '@/components/use-focus-first-error'
import { FILTER_KEYS, FILTER_LABELS, sourceFormState, sourceInput, type FilterKey, type MappingRow, type SourceFormState } from '@/lib/inventory-sources'
import { CreateInventorySource, UpdateInventorySource, type InventorySource, type SourceCredential } from './queries'

const SHOWN = [
  'name', 'description', 'kind', 'url', 'tokenCredentialId', 'tlsVerify', 'caCertificate', 'filter', 'defaultPort', 'defaultCredentialId', 'extraTags', 'syncMode', 'maxDeleteFraction',
  'customFieldMappings', 'syncBeforeRunMaxAgeSeconds', 'syncBeforeRunRequired',
]

const FILTER_PLACEHOLDERS: Record<FilterKey, string> = {
  locations: 'AMS1',
  roles: 'leaf',
  platforms: 'arista_eos',
  statuses: 'Active',
  tags: 'switchyard',
}

export function SourceForm({ source, credentials, onClose, onSaved }: { source: InventorySource | null; credentials: readonly SourceCredential[]; onClose(): void; onSaved(): void }) {
  const passwords = credentials.filter((c) => c.kind === 'PASSWORD')
  const [s, setState] = useState<SourceFormState>(() => sourceFormState(source, { tokenCredentialId: passwords.find((c) => c.canUse)?.id }))
  const set = (patch: Partial<SourceFormState>) => setState((prev) => ({ ...prev, ...patch }))
  const form = useSaveForm(CreateInventorySource, UpdateInventorySource, { id: source?.id, shown: SHOWN, onSaved })
  const { err } = form
  const setRow = (i: number, patch: Partial<MappingRow>) => set({ customFieldMappings: s.customFieldMappings.map((m, j) => (j === i ? { ...m, ...patch } : m)) })

  const submit = () => {
    const { input, errors } = sourceInput(s)
    const count = Object.keys(errors).length
    if (count) return form.setErrors({ form: fixSummary(count), fields: errors, code: null })
    return form.save(input)
  }

  return (
    <EditDialog title={source ? `Edit inventory source “${source.name}”` : 'New inventory source'} submitLabel={source ? 'Save' : 'Create source'} form={form} onClose={onClose} onSubmit={submit}>
      <div className="grid-2">
        <Field label="Name" required error={err('name')}>
          {(p) => <input {...p} name="name" value={s.name} placeholder="nautobot prod" onChange={(e) => set({ name: e.target.value })} autoFocus />}
        </Field>
        <Field label="Kind" error={err('kind')}>
          {(p) => (
            <select {...p} name="kind" value="NAUTOBOT" disabled>
              <option value="NAUTOBOT">Nautobot</option>
            </select>
          )}
        </Field>
      </div>
      <Field label="URL" required error={err('url')} hint="The Nautobot base URL; Switchyard reads its GraphQL API.">
        {(p) => <input {...p} name="url" className="mono" value={s.url} placeholder="https://nautobot.example.net" autoComplete="off" onChange={(e) => set({ url: e.target.value })} />}
      </Field>
      <Field
        label="API token"
        required
        error={err('tokenCredentialId')}
        hint={passwords.length ? 'A password credential whose password is the Nautobot API token. The token itself is never shown.' : 'No password credentials yet: store the token as one on the Credentials page first.'}
      >
        {(p) => (
          <select {...p} name="tokenCredentialId" value={s.tokenCredentialId} onChange={(e) => set({ tokenCredentialId: e.target.value })}>
            <option value="">(choose a credential)</option>
            {passwords.map((c) => (
              <option key={c.id} value={c.id} disabled={!c.canUse && c.id !== s.tokenCredentialId}>
                {c.name}
                {c.canUse ? '' : ' — not yours to use'}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Section title="TLS">
        <label className="check">
          <input type="checkbox" name="tlsVerify" checked={s.tlsVerify} onChange={(e) => set({ tlsVerify: e.target.checked })} />
          Verify the server’s certificate
        </label>
        {!s.tlsVerify ? (
          <div className="alert warn" role="note">
            Without verification anyone between Switchyard and Nautobot can read the API token. Prefer adding the CA below.
          </div>
        ) : null}
        <Field label="Extra CA certificates" error={err('caCertificate')} hint="PEM, trusted besides the system CAs (for a private CA).">
          {(p) => (
            <textarea
              {...p}
              name="caCertificate"
              className="mono"
              rows={3}
              spellCheck={false}
              placeholder="-----BEGIN CERTIFICATE-----"
              value={s.caCertificate}
              onChange={(e) => set({ caCertificate: e.target.value })}
            />
          )}
        </Field>
      </Section>
      <Section title="Devices" hint="Names (or ids) one per line. Values within a list are OR-ed, the lists AND-ed; empty lists select every device.">
        <div className="grid-2">
          {FILTER_KEYS.map((k) => (
            <Field key={k} label={FILTER_LABELS[k]} error={err(`filter.${k}`)}>
              {(p) => (
                <textarea
                  {...p}
                  name={`filter.${k}`}
                  rows={2}
                  spellCheck={false}
                  placeholder={FILTER_PLACEHOLDERS[k]}
                  value={s.filter[k].join('\n')}
                  onChange={(e) => set({ filter: { ...s.filter, [k]: e.target.value.split('\n') } })}
                />
              )}
            </Field>
          ))}
        </div>
      </Section>
      <Section title="Targets" hint="Each device becomes a target named like the device, at its primary IP; platform, role, location and status become attributes.">
        <div className="grid-2">
          <Field label="Port" error={err('defaultPort')}>
            {(p) => <input {...p} name="defaultPort" inputMode="numeric" value={s.defaultPort} onChange={(e) => set({ defaultPort: e.target.value })} />}
          </Field>
          <Field label="Credential for new targets" error={err('defaultCredentialId')}>
            {(p) => (
              <select {...p} name="defaultCredentialId" value={s.defaultCredentialId} onChange={(e) => set({ defaultCredentialId: e.target.value })}>
                <option value="">(none)</option>
                {credentials.map((c) => (
                  <option key={c.id} value={c.id} disabled={!c.canUse && c.id !== s.defaultCredentialId}>
                    {c.name} ({c.username}){c.canUse ? '' : ' — not yours to use'}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field label="Extra tags" error={err('extraTags')} hint="Added to every target of this source (templates select by tag).">
          {(p) => <ChipsInput id={p.id} value={s.extraTags} onChange={(v) => set({ extraTags: v })} placeholder="nautobot" invalid={p['aria-invalid']} describedBy={p['aria-describedby']} />}
        </Field>
      </Section>
      <Section
        title="Custom fields"
        hint="Nautobot device custom fields (by key) become target attributes and/or tags prefix:value (one per value of a multi-select field). The source keeps them up to date like platform and role."
      >
        {err('customFieldMappings') ? (
          <div className="error" role="alert">
            {err('customFieldMappings')}
          </div>
        ) : null}
        {s.customFieldMappings.map((m, i) => (
          <div key={i} className="grid-3" role="group" aria-label={`Custom field mapping ${i + 1}`}>
            <Field label="Custom field key" error={err(`customFieldMappings.${i}.customField`)}>
              {(p) => <input {...p} name={`customFieldMappings.${i}.customField`} className="mono" value={m.customField} placeholder="site_code" onChange={(e) => setRow(i, { customField: e.target.value })} />}
            </Field>
            <Field label="Attribute" error={err(`customFieldMappings.${i}.attribute`)}>
              {(p) => <input {...p} name={`customFieldMappings.${i}.attribute`} className="mono" value={m.attribute} placeholder="site_code" onChange={(e) => setRow(i, { attribute: e.target.value })} />}
            </Field>
            <Field label="Tag prefix" error={err(`customFieldMappings.${i}.tagPrefix`)}>
              {(p) => (
                <div className="row" style={{ gap: 8 }}>
                  <input {...p} name={`customFieldMappings.${i}.tagPrefix`} className="mono" value={m.tagPrefix} placeholder="site" onChange={(e) => setRow(i, { tagPrefix: e.target.value })} />
                  <button type="button" className="btn ghost" aria-label={`Remove custom field mapping ${i + 1}`} onClick={() => set({ customFieldMappings: s.customFieldMappings.filter((_, j) => j !== i) })}>
                    Remove
                  </button>
                </div>
              )}
            </Field>
          </div>
        ))}
        <div>
          <button type="button" className="btn" onClick={() => set({ customFieldMappings: [...s.customFieldMappings, { customField: '', attribute: '', tagPrefix: '' }] })}>
            Add custom field mapping
          </button>
        </div>
      </Section>
      <Section title="Sync">
        <Field label="Mode" error={err('syncMode')} hint={s.syncMode === 'ADDITIVE' ? 'Creates and updates targets; never removes any.' : 'Also removes the targets this source created whose device left it.'}>
          {() => (
            <Segmented
              label="Mode"
              value={s.syncMode}
              onChange={(v) => set({ syncMode: v })}
              options={[
                { value: 'ADDITIVE', label: 'Additive' },
                { value: 'AUTHORITATIVE', label: 'Authoritative' },
              ]}
            />
          )}
        </Field>
        <Field
          label="Safety valve: most targets one sync may remove (%)"
          error={err('maxDeleteFraction')}
          hint="An authoritative sync removing a larger share of this source’s targets (or finding no devices at all) is refused unless forced."
        >
          {(p) => <input {...p} name="maxDeletePercent" inputMode="decimal" style={{ maxWidth: 160 }} value={s.maxDeletePercent} onChange={(e) => set({ maxDeletePercent: e.target.value })} />}
        </Field>
        <label className="check">
          <input type="checkbox" name="syncBeforeRun" checked={s.syncBeforeRun} onChange={(e) => set({ syncBeforeRun: e.target.checked })} />
          Sync before a run that uses this source’s targets when the last sync is too old
        </label>
        {s.syncBeforeRun ? (
          <>
            <Field label="Older than (minutes)" error={err('syncBeforeRunMaxAgeSeconds')} hint="Runs that start within this time of the last sync use the targets as they are.">
              {(p) => <input {...p} name="syncBeforeRunMinutes" inputMode="decimal" style={{ maxWidth: 160 }} value={s.syncBeforeRunMinutes} onChange={(e) => set({ syncBeforeRunMinutes: e.target.value })} />}
            </Field>
            <label className="check">
              <input type="checkbox" name="syncBeforeRunRequired" checked={s.syncBeforeRunRequired} onChange={(e) => set({ syncBeforeRunRequired: e.target.checked })} />
              Fail the run when that sync fails (otherwise the run uses the last-known targets and logs a warning)
            </label>
            {err('syncBeforeRunRequired') ? <div className="error" role="alert">{err('syncBeforeRunRequired')}</div> : null}
          </>
        ) : null}
      </Section>
      <Field label="Description" error={err('description')}>
        {(p) => <input {...p} name="description" value={s.description} onChange={(e) => set({ description: e.target.value })} />}
      </Field>
    </EditDialog>
  )
}

function Section({ title, hint, children }: { title: string; hint?: string; children: ReactNode }) {
  return (
    <fieldset className="form-section">
      <legend className="section-title">{title}</legend>
      {hint ? <div className="hint small muted">{hint}</div> : null}
      {children}
    </fieldset>
  )
}
