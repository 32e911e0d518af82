import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import type { ParameterDefinition } from './parameters'
import { bytesInWords, callOutcomeLabel, curlSnippet, exampleBody, mappingInput, mappingRows, webhookUrl } from './webhooks'

const defs: ParameterDefinition[] = [
  { name: 'repo', type: 'STRING', required: true },
  { name: 'count', type: 'INT', required: false, default: 1 },
  { name: 'dry', type: 'BOOL', required: false },
  { name: 'env', type: 'CHOICE', required: false, choices: ['prod', 'lab'] },
]

describe('webhook parameter mapping', () => {
  it('reads the stored mapping as rows, literals as text', () => {
    expect(mappingRows({ repo: { path: '/repository/name' }, count: { value: 3 }, dry: { value: false }, env: { value: 'prod' } })).toEqual([
      { parameter: 'repo', source: 'path', text: '/repository/name' },
      { parameter: 'count', source: 'value', text: '3' },
      { parameter: 'dry', source: 'value', text: 'false' },
      { parameter: 'env', source: 'value', text: 'prod' },
    ])
    expect(mappingRows(null)).toEqual([])
    expect(mappingRows([1])).toEqual([])
  })

  it('sends paths trimmed and literals typed by their parameter; an unreadable literal as typed for the API to name', () => {
    const { mapping, errors } = mappingInput(
      [
        { parameter: 'repo', source: 'path', text: ' repository.name ' },
        { parameter: 'count', source: 'value', text: '42' },
        { parameter: 'dry', source: 'value', text: 'true' },
        { parameter: 'env', source: 'value', text: 'lab' },
      ],
      defs,
    )
    expect(errors).toEqual({})
    expect(mapping).toEqual({ repo: { path: 'repository.name' }, count: { value: 42 }, dry: { value: true }, env: { value: 'lab' } })
    expect(mappingInput([{ parameter: 'count', source: 'value', text: 'many' }], defs).mapping).toEqual({ count: { value: 'many' } })
    // A round trip keeps what was stored.
    const stored = { repo: { path: '/a/b' }, count: { value: 7 } }
    expect(mappingInput(mappingRows(stored), defs).mapping).toEqual(stored)
  })

  it('names the rows the form can see are wrong, keyed like the API’s fields', () => {
    const { errors } = mappingInput(
      [
        { parameter: 'repo', source: 'path', text: ' ' },
        { parameter: 'env', source: 'value', text: 'prod' },
        { parameter: 'env', source: 'value', text: 'lab' },
        { parameter: '', source: 'path', text: '/x' },
        { parameter: '', source: 'path', text: '' },
      ],
      defs,
    )
    expect(errors).toEqual({
      'parameterMapping.repo': expect.stringMatching(/JSON path/),
      'parameterMapping.env': expect.stringMatching(/mapped twice/),
      'parameterMapping.row3': expect.stringMatching(/Choose the parameter/),
    })
  })
})

describe('calling a webhook', () => {
  it('joins the API origin and the path the server gave', () => {
    expect(webhookUrl('https://switchyard.example.com/', '/hooks/whk_abc')).toBe('https://switchyard.example.com/hooks/whk_abc')
    expect(webhookUrl('http://127.0.0.1:4000', 'hooks/whk_abc')).toBe('http://127.0.0.1:4000/hooks/whk_abc')
  })

  it('builds an example body with a value at every mapped path', () => {
    const rows = [
      { parameter: 'repo', source: 'path' as const, text: '/repository/name' },
      { parameter: 'count', source: 'path' as const, text: 'commits.0.n' },
      { parameter: 'env', source: 'path' as const, text: 'a~1b' },
      { parameter: 'dry', source: 'value' as const, text: 'true' },
    ]
    expect(exampleBody(rows, defs)).toEqual({ repository: { name: 'repo' }, commits: [{ n: 1 }], 'a~1b': 'prod' })
    expect(exampleBody([{ parameter: 'x', source: 'path', text: '/a~1b' }], [])).toEqual({ 'a/b': 'x' })
  })

  it('gives a curl snippet whose signature is the HMAC the server checks', () => {
    const url = 'http://127.0.0.1:9/hooks/whk_x'
    const unsigned = curlSnippet({ url, signed: false, body: { ref: "it's" } })
    expect(unsigned).toContain(`curl -sS -X POST '${url}'`)
    expect(unsigned).not.toContain('x-switchyard-signature')
    expect(unsigned).toContain(`body='{"ref":"it'\\''s"}'`)
    const signed = curlSnippet({ url, signed: true, body: { ref: 'main' } })
    expect(signed).toContain('x-switchyard-signature: t=$t,v1=$sig')
    // Run the snippet's signing lines in a real shell with openssl and compare with Node's HMAC.
    const lines = signed.split('\n').filter((l) => l.startsWith('body=') || l.startsWith('t=') || l.startsWith('sig='))
    const out = execFileSync('sh', ['-c', `${lines.join('\n')}\nprintf '%s %s %s' "$t" "$sig" "$body"`], { env: { ...process.env, SECRET: 's3cret' } }).toString()
    const [t, sig, ...body] = out.split(' ')
    expect(sig).toBe(crypto.createHmac('sha256', 's3cret').update(`${t}.${body.join(' ')}`).digest('hex'))
    expect(body.join(' ')).toBe('{"ref":"main"}')
  })

  it('says what came of a call, and body caps, in words', () => {
    expect(callOutcomeLabel('STARTED')).toBe('Started a run')
    expect(callOutcomeLabel('REJECTED')).toBe('Refused')
    expect(callOutcomeLabel('THROTTLED')).toBe('Throttled')
    expect(bytesInWords(65536)).toBe('64 KiB')
    expect(bytesInWords(1_048_576)).toBe('1 MiB')
    expect(bytesInWords(1500)).toBe('1,500 bytes')
  })
})
