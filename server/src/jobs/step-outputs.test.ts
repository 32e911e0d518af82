import { describe, expect, it } from 'vitest'
import { OUTPUTS_MAX_BYTES, outputDeclarationsSchema, parseOutputs, runOutputs } from './step-outputs.ts'

const parse = (text: string, decl: Parameters<typeof parseOutputs>[1] = []) => parseOutputs(Buffer.from(text), decl)

describe('parseOutputs', () => {
  it('reads key=value lines: comments and blanks skipped, values kept as written, the last repeat wins', () => {
    const r = parse('# c\n\na=1\nb = x=y \r\na=2\n')
    expect(r.values).toEqual({ a: '2', b: ' x=y ' })
    expect(r.problems).toEqual([])
  })
  it('converts and checks declared kinds; SECRET values are flagged', () => {
    const r = parse('n=4.5\nok=TRUE\nj={"a":1}\ns=pw\nbadn=x\nbadj={', [
      { name: 'n', kind: 'NUMBER', description: '' },
      { name: 'ok', kind: 'BOOL', description: '' },
      { name: 'j', kind: 'JSON', description: '' },
      { name: 's', kind: 'SECRET', description: '' },
      { name: 'badn', kind: 'NUMBER', description: '' },
      { name: 'badj', kind: 'JSON', description: '' },
    ])
    expect(r.values).toEqual({ n: 4.5, ok: true, j: { a: 1 }, s: 'pw' })
    expect([...r.secret]).toEqual(['s'])
    expect(r.problems).toEqual([expect.stringContaining('"badn" ignored: declared NUMBER'), expect.stringContaining('"badj" ignored: declared JSON')])
  })
  it('reads one JSON object; undeclared values keep their JSON type, a declared STRING becomes text', () => {
    const r = parse(' {"list": [1], "s": 5, "t": {"x": 1}} ', [{ name: 's', kind: 'STRING', description: '' }, { name: 't', kind: 'SECRET', description: '' }])
    expect(r.values).toEqual({ list: [1], s: '5', t: '{"x":1}' })
    expect(r.secret.has('t')).toBe(true)
    expect(parse('{"a": ').problems[0]).toContain('not valid JSON')
    expect(parse('[1]').problems[0]).toContain('has no "="')
  })
  it('caps: size, key count, names, NUL', () => {
    expect(parseOutputs(Buffer.alloc(OUTPUTS_MAX_BYTES + 1, 'a')).problems[0]).toContain('larger than 65536 bytes')
    const many = parse(Array.from({ length: 205 }, (_, i) => `k${i}=${i}`).join('\n'))
    expect(Object.keys(many.values)).toHaveLength(200)
    expect(many.problems).toEqual(['5 outputs were dropped: at most 200 outputs per target'])
    expect(parse('1a=x\nbad-name=y\nok=z').values).toEqual({ ok: 'z' })
    expect(parse('a=\u0000').problems[0]).toContain('NUL')
  })
})

describe('declarations', () => {
  it('names, duplicates and kinds are checked by field', () => {
    const r = outputDeclarationsSchema.safeParse([{ name: 'a' }, { name: 'a' }, { name: '1x' }, { name: 'k', kind: 'DATE' }])
    expect(r.success).toBe(false)
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['2.name', '3.kind'])
    // Duplicates are checked once every declaration is well-formed.
    expect(outputDeclarationsSchema.safeParse([{ name: 'a' }, { name: 'a' }]).error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['1.name', 'duplicate output "a"']])
  })
})

describe('runOutputs', () => {
  it('one target: its outputs; several: by name, only those that published; none: null', () => {
    expect(runOutputs([{ name: 'a', outputs: { x: 1 } }])).toEqual({ x: 1 })
    expect(runOutputs([{ name: 'a', outputs: { x: 1 } }, { name: 'b', outputs: null }])).toEqual({ a: { x: 1 } })
    expect(runOutputs([{ name: 'a', outputs: null }])).toBeNull()
    expect(runOutputs([])).toBeNull()
  })
})
