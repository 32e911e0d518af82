/**
 * The parameter fields both Run-now dialogs show (rendered to static markup): each type's control,
 * labels tied to their inputs, errors in words next to their field (role=alert, aria-describedby,
 * aria-invalid), secrets masked, and the empty case.
 */
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { NO_ERRORS } from '@/lib/errors'
import { initialRunValues, type ParameterDefinition } from '@/lib/parameters'
import { ParameterValuesForm } from './parameter-values-form'

const PARAMETERS: ParameterDefinition[] = [
  { name: 'host', type: 'STRING', label: 'Host', required: true },
  { name: 'count', type: 'INT', required: false, description: 'How many' },
  { name: 'dry', type: 'BOOL', label: 'Dry run', required: false, default: true, description: 'Change nothing' },
  { name: 'mode', type: 'CHOICE', required: false, choices: ['fast', 'safe'] },
  { name: 'token', type: 'SECRET', required: true },
]

function render(errors = NO_ERRORS, parameters = PARAMETERS): string {
  return renderToStaticMarkup(<ParameterValuesForm parameters={parameters} values={initialRunValues(parameters)} errors={errors} onChange={() => {}} empty="Nothing to ask." />)
}

/** The element (start tag) with this attribute=value. */
function tag(html: string, attr: string, value: string): string {
  const m = html.match(new RegExp(`<[a-z]+[^>]*\\s${attr}="${value}"[^>]*>`))
  if (!m) throw new Error(`no element with ${attr}="${value}" in ${html}`)
  return m[0]
}

describe('ParameterValuesForm', () => {
  it('shows one labelled control per parameter type, the first focused, secrets masked', () => {
    const html = render()
    const host = tag(html, 'name', 'host')
    expect(host).toMatch(/type="text"/)
    expect(host).toMatch(/autofocus=""/i)
    const hostId = host.match(/id="([^"]+)"/)![1]!
    expect(html).toContain(`<label for="${hostId}">Host<span class="req">*</span></label>`)
    expect(tag(html, 'name', 'count')).toMatch(/inputmode="numeric"/i)
    expect(html).toContain('How many')
    expect(html).toMatch(/<label class="check"><input type="checkbox" checked=""\/> Dry run<\/label><div class="hint">Change nothing<\/div>/)
    expect(html).toMatch(/<select[^>]*><option value="" selected="">\(default\)<\/option><option>fast<\/option><option>safe<\/option><\/select>/)
    const token = tag(html, 'name', 'token')
    expect(token).toMatch(/type="password"/)
    expect(token).toMatch(/autocomplete="new-password"/i)
    expect(html).toContain('Masked in logs and never shown again.')
    expect(html).not.toContain('role="alert"')
  })

  it('puts each error in words next to its field, tied to the input', () => {
    const html = render({ form: null, code: null, fields: { 'parameters.host': 'is required', 'parameters.dry': 'must be a boolean' } })
    const host = tag(html, 'name', 'host')
    expect(host).toMatch(/aria-invalid="true"/)
    const describedBy = host.match(/aria-describedby="([^"]+)"/)![1]!
    expect(html).toContain(`<div class="error" id="${describedBy}" role="alert">is required</div>`)
    // The checkbox's error replaces its hint.
    expect(html).toMatch(/Dry run<\/label><div class="error" role="alert">must be a boolean<\/div>/)
    expect(html).not.toContain('Change nothing')
    expect(tag(html, 'name', 'token')).toMatch(/aria-invalid="false"/)
  })

  it('says so when there are no parameters', () => {
    expect(render(NO_ERRORS, [])).toBe('<p class="muted" style="margin:0">Nothing to ask.</p>')
  })
})
