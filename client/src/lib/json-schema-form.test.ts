import { describe, expect, it } from 'vitest'
import { humanize, initialValues, schemaToFields, unknownKeys, valuesToConfig, type JsonSchema } from './json-schema-form'

// The command job type's schema, as the server publishes it.
const command: JsonSchema = {
  type: 'object',
  properties: {
    commands: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 1 }, description: 'Commands' },
    continueOnError: { type: 'boolean', default: false },
    pty: { type: 'boolean', default: false },
    connectTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 300, default: 15 },
    env: { type: 'object', propertyNames: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, additionalProperties: { type: 'string' } },
  },
  required: ['commands'],
}

describe('schemaToFields', () => {
  it('renders a credential id field (format credential-id) as a credential picker, kept as a string', () => {
    const fields = schemaToFields({ type: 'object', properties: { repositoryCredentialId: { type: 'string', format: 'credential-id' }, repository: { type: 'string' } } })
    expect(fields.map((f) => [f.key, f.kind])).toEqual([
      ['repositoryCredentialId', 'credential'],
      ['repository', 'string'],
    ])
    expect(valuesToConfig(fields, { repositoryCredentialId: 'Q3JlZDox', repository: '' }).config).toEqual({ repositoryCredentialId: 'Q3JlZDox' })
    expect(valuesToConfig(fields, { repositoryCredentialId: '', repository: '' }).config).toEqual({})
  })

  it('maps each property to a field kind with its constraints', () => {
    const fields = schemaToFields(command)
    expect(fields.map((f) => [f.key, f.kind, f.required])).toEqual([
      ['commands', 'string-list', true],
      ['continueOnError', 'boolean', false],
      ['pty', 'boolean', false],
      ['connectTimeoutSeconds', 'integer', false],
      ['env', 'string-map', false],
    ])
    const timeout = fields.find((f) => f.key === 'connectTimeoutSeconds')!
    expect(timeout).toMatchObject({ min: 1, max: 300, default: 15, path: 'config.connectTimeoutSeconds', label: 'Connect timeout (seconds)' })
    expect(fields[0]).toMatchObject({ minItems: 1, maxItems: 50, description: 'Commands' })
    expect(fields[4]!.keyPattern).toBe('^[A-Za-z_][A-Za-z0-9_]*$')
  })

  it('uses enums, long strings and a JSON fallback for what it cannot render', () => {
    const fields = schemaToFields({
      type: 'object',
      properties: {
        mode: { type: 'string', enum: ['a', 'b'] },
        message: { type: 'string', maxLength: 1000 },
        nested: { type: 'object', properties: { x: { type: 'number' } } },
        anything: {},
      },
    })
    expect(fields.map((f) => f.kind)).toEqual(['enum', 'text', 'json', 'json'])
    expect(fields[0]!.options).toEqual(['a', 'b'])
  })

  it('returns no fields for a schema without properties', () => {
    expect(schemaToFields(null)).toEqual([])
    expect(schemaToFields({ type: 'object' })).toEqual([])
  })
})

describe('values ↔ config', () => {
  const fields = schemaToFields(command)

  it('starts a new config from the defaults, with one empty command row', () => {
    expect(initialValues(fields, {})).toEqual({ commands: [''], continueOnError: false, pty: false, connectTimeoutSeconds: '', env: [] })
  })

  it('round-trips an existing config', () => {
    const config = { commands: ['uptime', 'df -h'], continueOnError: true, pty: false, connectTimeoutSeconds: 30, env: { LANG: 'C' } }
    const values = initialValues(fields, config)
    expect(values.connectTimeoutSeconds).toBe('30')
    expect(valuesToConfig(fields, values)).toEqual({ config, errors: {} })
  })

  it('leaves out empty optional fields and blank list rows', () => {
    const r = valuesToConfig(fields, { commands: ['uptime', '  '], continueOnError: false, pty: true, connectTimeoutSeconds: ' ', env: [['', '']] })
    expect(r).toEqual({ config: { commands: ['uptime'], continueOnError: false, pty: true }, errors: {} })
  })

  it('reports problems by the API field path', () => {
    const r = valuesToConfig(fields, { commands: [''], continueOnError: false, pty: false, connectTimeoutSeconds: '0', env: [['1BAD', 'x']] })
    expect(r.errors).toEqual({
      'config.commands': 'Add at least one command.',
      'config.connectTimeoutSeconds': '0 is too small: must be at least 1 (and at most 300).',
      'config.env': '“1BAD” is not a valid name: use letters, digits and _, not starting with a digit.',
    })
    expect(valuesToConfig(fields, { commands: ['x'], connectTimeoutSeconds: '2.5' }).errors).toEqual({ 'config.connectTimeoutSeconds': '“2.5” is not a whole number.' })
  })

  it('parses JSON fields and keeps keys the schema does not know', () => {
    const f = schemaToFields({ type: 'object', properties: { data: { type: 'object', properties: {} } } })
    expect(valuesToConfig(f, { data: '{"a":1}' }, { legacy: true }).config).toEqual({ data: { a: 1 }, legacy: true })
    expect(valuesToConfig(f, { data: '{' }).errors['config.data']).toMatch(/^This is not valid JSON \(.+\)\.$/)
    expect(unknownKeys(fields, { commands: [], legacy: 1 })).toEqual({ legacy: 1 })
  })
})

it('humanizes keys, with known acronyms and units', () => {
  expect(humanize('continueOnError')).toBe('Continue on error')
  expect(humanize('max_parallel')).toBe('Max parallel')
  expect(humanize('pty')).toBe('PTY')
  expect(humanize('env')).toBe('Env')
  expect(humanize('repositoryCaCertificate')).toBe('Repository CA certificate')
  expect(humanize('url')).toBe('URL')
  expect(humanize('timeoutMs')).toBe('Timeout (milliseconds)')
})

// config_backup's schema, as the server publishes it (trimmed to what the form needs).
const configBackup: JsonSchema = {
  type: 'object',
  required: ['commands', 'repository'],
  properties: {
    commands: {
      type: 'array',
      minItems: 1,
      maxItems: 20,
      items: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'object', required: ['command'], properties: { command: { type: 'string', minLength: 1 }, path: { type: 'string', minLength: 1 } } }] },
      description: 'A plain string is stored at `pathTemplate`.',
    },
    repository: { type: 'string', description: 'authenticated with a key from `repositoryCredentialId`' },
    repositoryCredentialId: { type: 'string', format: 'credential-id' },
    pathTemplate: { type: 'string' },
  },
}

describe('lists of objects (config_backup commands)', () => {
  const fields = schemaToFields(configBackup)
  const commands = fields[0]!

  it('edits string-or-object items as rows of fields, labelled in words', () => {
    expect(commands).toMatchObject({ kind: 'object-list', shorthand: 'command', label: 'Commands' })
    expect(commands.itemFields!.map((f) => [f.key, f.label, f.required])).toEqual([
      ['command', 'Command', true],
      ['path', 'Path', false],
    ])
    expect(fields.find((f) => f.key === 'repositoryCredentialId')!.label).toBe('Repository credential')
    // Descriptions name fields by their labels, not their property names.
    expect(commands.description).toBe('A plain string is stored at “Path template”.')
    expect(fields[1]!.description).toBe('authenticated with a key from “Repository credential”')
  })

  it('sends a row with only a command as a plain string, and one with a path as an object', () => {
    const values = initialValues(fields, { commands: ['uname -a', { command: 'cat /etc/hostname', path: 'host.txt' }], repository: '/srv/git' })
    expect(values.commands).toEqual([
      { command: 'uname -a', path: '' },
      { command: 'cat /etc/hostname', path: 'host.txt' },
    ])
    expect(valuesToConfig(fields, values).config.commands).toEqual(['uname -a', { command: 'cat /etc/hostname', path: 'host.txt' }])
  })

  it('says which entry is wrong, and asks for at least one', () => {
    const r = valuesToConfig(fields, { commands: [{ command: '', path: 'x.txt' }], repository: '' })
    expect(r.errors['config.commands.0.command']).toBe('Enter command.')
    expect(r.errors['config.repository']).toBe('Enter repository.')
    expect(valuesToConfig(fields, { commands: [{ command: '', path: '' }], repository: '/r' }).errors['config.commands']).toBe('Add at least one command.')
  })

  it('leaves out fields the form hides', () => {
    const r = valuesToConfig(fields, { commands: [{ command: 'x', path: '' }], repository: 'https://git.example/r.git', repositoryCredentialId: 'abc', pathTemplate: '' }, {}, new Set(['repositoryCredentialId']))
    expect(r.config).toEqual({ commands: ['x'], repository: 'https://git.example/r.git' })
  })
})
