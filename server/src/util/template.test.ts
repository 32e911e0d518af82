import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { renderTemplate, shellQuote, TemplateError, templateVariables } from './template.ts'

const vars = {
  params: { vlan: 42, name: 'core sw', enabled: true, note: null },
  vlan: 42,
  name: 'core sw',
  target: { name: 'sw-01', host: '10.0.0.1', port: 22, tags: ['core', 'dc 1'], attributes: { location: "o'hare", rack: { row: 3 } } },
}

describe('renderTemplate', () => {
  it('substitutes plain and dotted names, with or without spaces inside the braces', () => {
    const text = 'vlan {{vlan}} {{ params.vlan }} on {{ target.name }} at {{  target.attributes.location  }} row {{ target.attributes.rack.row }}'
    expect(renderTemplate(text, vars, { quote: 'none' })).toBe("vlan 42 42 on sw-01 at o'hare row 3")
  })

  it('single-quotes every value for the shell', () => {
    expect(renderTemplate('echo {{ name }} {{ target.attributes.location }} {{ vlan }}', vars, { quote: 'shell' })).toBe(
      `echo 'core sw' 'o'\\''hare' '42'`,
    )
  })

  it('makes injection attempts inert (checked with a real shell)', () => {
    const nasty = `a'; echo PWNED; '$(id)\`id\` "x" \\ \n*`
    const command = renderTemplate('printf %s {{ value }}', { value: nasty }, { quote: 'shell' })
    expect(execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8' })).toBe(nasty)
  })

  it('renders lists as separate quoted words for the shell, and null as empty', () => {
    expect(renderTemplate('for t in {{ target.tags }}; do', vars, { quote: 'shell' })).toBe(`for t in 'core' 'dc 1'; do`)
    expect(renderTemplate('[{{ target.tags }}]', vars, { quote: 'none' })).toBe('[core dc 1]')
    expect(renderTemplate('x{{ params.note }}y', vars, { quote: 'shell' })).toBe(`x''y`)
    expect(renderTemplate('{{ params.enabled }}', vars, { quote: 'none' })).toBe('true')
    expect(renderTemplate('{{ target.tags.1 }}', vars, { quote: 'shell' })).toBe(`'dc 1'`)
  })

  it('throws a TemplateError naming an unknown variable', () => {
    const attempt = () => renderTemplate('echo {{ params.missing }}', vars, { quote: 'shell' })
    expect(attempt).toThrow(TemplateError)
    expect(attempt).toThrow('unknown template variable "params.missing"')
    try {
      attempt()
    } catch (err) {
      expect((err as TemplateError).variable).toBe('params.missing')
    }
    expect(() => renderTemplate('{{ target.name.first }}', vars, { quote: 'none' })).toThrow('"target.name.first"')
  })

  it('never reaches into prototypes', () => {
    expect(() => renderTemplate('{{ constructor }}', vars, { quote: 'none' })).toThrow(TemplateError)
    expect(() => renderTemplate('{{ params.toString }}', vars, { quote: 'none' })).toThrow(TemplateError)
    expect(() => renderTemplate('{{ target.tags.length }}', vars, { quote: 'none' })).toThrow(TemplateError)
  })

  it('leaves braces that are not placeholders alone (Go templates, awk)', () => {
    const text = `docker inspect -f '{{.State.Status}}' x; docker ps --format '{{ json . }}'; awk '{ print $1 }'`
    expect(renderTemplate(text, {}, { quote: 'shell' })).toBe(text)
  })

  it('lists the variables a template uses', () => {
    expect(templateVariables('{{ a }} {{b.c}} {{ a }} {{.X}}')).toEqual(['a', 'b.c'])
  })
})

describe('shellQuote', () => {
  it('quotes the empty string and embedded quotes', () => {
    expect(shellQuote('')).toBe("''")
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
  })
})
