import { describe, expect, it } from 'vitest'
import { defaultHint, humanize, INCLUDE, initialValues, itemName, looseHint, parseLoose, schemaToFields, unknownKeys, valuesToConfig, type JsonSchema } from './json-schema-form'

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

  it('uses enums, long strings, objects as groups, free-form values as text, and a JSON fallback only for what it cannot render', () => {
    const fields = schemaToFields({
      type: 'object',
      properties: {
        mode: { type: 'string', enum: ['a', 'b'] },
        message: { type: 'string', maxLength: 1000 },
        nested: { type: 'object', properties: { x: { type: 'number' } } },
        anything: {},
        matrix: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
      },
    })
    expect(fields.map((f) => f.kind)).toEqual(['enum', 'text', 'object', 'loose', 'json'])
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
    const f = schemaToFields({ type: 'object', properties: { data: { type: 'array', items: { type: 'array', items: {} } } } })
    expect(valuesToConfig(f, { data: '[[1]]' }, { legacy: true }).config).toEqual({ data: [[1]], legacy: true })
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

// The http job type's schema, as the server publishes it (trimmed to the fields that were JSON boxes).
const http: JsonSchema = {
  type: 'object',
  required: ['url'],
  properties: {
    method: { default: 'GET', type: 'string', enum: ['GET', 'HEAD', 'POST'] },
    url: { type: 'string' },
    headers: { type: 'object', propertyNames: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }, additionalProperties: { type: 'string' } },
    body: { description: 'Request body.', anyOf: [{ type: 'string' }, { type: 'object', propertyNames: { type: 'string' }, additionalProperties: {} }, { type: 'array', items: {} }] },
    auth: {
      title: 'Authorization',
      oneOf: [
        { title: 'Basic (user name + SECRET password parameter)', type: 'object', properties: { type: { type: 'string', const: 'basic' }, username: { type: 'string', minLength: 1 }, passwordParameter: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } }, required: ['type', 'username', 'passwordParameter'] },
        { title: 'Bearer (SECRET token parameter)', type: 'object', properties: { type: { type: 'string', const: 'bearer' }, tokenParameter: { type: 'string' } }, required: ['type', 'tokenParameter'] },
        { title: 'Stored credential', type: 'object', properties: { type: { type: 'string', const: 'credential' }, credentialId: { type: 'string', format: 'credential-id' }, scheme: { default: 'basic', type: 'string', enum: ['basic', 'bearer'] } }, required: ['type', 'credentialId'] },
      ],
    },
    expectedStatus: { default: ['2xx'], title: 'Expected statuses', minItems: 1, type: 'array', items: { anyOf: [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'string', pattern: '^([1-5])xx$' }] } },
    check: {
      title: 'Check the response body',
      type: 'object',
      properties: {
        jsonPath: { type: 'string', description: 'Dotted path into the JSON body.' },
        equals: { description: 'The value at `jsonPath` must equal this (deep equality).' },
        regex: { type: 'string' },
      },
    },
  },
}

describe('objects, unions and free-form values (http, prefix_scan, ansible_playbook)', () => {
  const fields = schemaToFields(http)
  const field = (key: string) => fields.find((f) => f.key === key)!

  it('maps no http field to a JSON box', () => {
    expect(fields.map((f) => [f.key, f.kind])).toEqual([
      ['method', 'enum'],
      ['url', 'string'],
      ['headers', 'string-map'],
      ['body', 'loose'],
      ['auth', 'union'],
      ['expectedStatus', 'string-list'],
      ['check', 'object'],
    ])
    expect(field('body')).toMatchObject({ multiline: true, valueTypes: ['string', 'object', 'array'] })
    expect(field('expectedStatus')).toMatchObject({ itemKind: 'integer-or-string', label: 'Expected statuses' })
    expect(itemName(field('expectedStatus'))).toBe('expected status')
  })

  it('renders a union told apart by `type` as a type select plus the chosen variant’s fields', () => {
    const auth = field('auth')
    expect(auth).toMatchObject({ label: 'Authorization', discriminator: 'type', required: false })
    expect(auth.variants!.map((v) => [v.value, v.label, v.fields.map((f) => [f.key, f.kind, f.required, f.path])])).toEqual([
      ['basic', 'Basic (user name + SECRET password parameter)', [['username', 'string', true, 'config.auth.username'], ['passwordParameter', 'string', true, 'config.auth.passwordParameter']]],
      ['bearer', 'Bearer (SECRET token parameter)', [['tokenParameter', 'string', true, 'config.auth.tokenParameter']]],
      ['credential', 'Stored credential', [['credentialId', 'credential', true, 'config.auth.credentialId'], ['scheme', 'enum', false, 'config.auth.scheme']]],
    ])
    // None chosen: no auth sent.
    const blank = initialValues(fields, {})
    expect(blank.auth).toEqual({ type: '', username: '', passwordParameter: '', tokenParameter: '', credentialId: '', scheme: '' })
    expect(valuesToConfig(fields, { ...blank, url: 'https://x' }).config).not.toHaveProperty('auth')
    // Basic: only that variant's fields go out, with the type.
    const basic = { ...blank, url: 'https://x', auth: { ...(blank.auth as object), type: 'basic', username: 'ops', passwordParameter: 'api_password', tokenParameter: 'left over' } }
    expect(valuesToConfig(fields, basic).config.auth).toEqual({ type: 'basic', username: 'ops', passwordParameter: 'api_password' })
    // Problems are reported at the nested field's API path.
    const missing = { ...basic, auth: { ...basic.auth, username: '' } }
    expect(valuesToConfig(fields, missing).errors).toEqual({ 'config.auth.username': 'Enter username.' })
    // An existing config round-trips.
    const config = { url: 'https://x', auth: { type: 'credential', credentialId: 'Q3JlZDox', scheme: 'bearer' } }
    expect(valuesToConfig(fields, initialValues(fields, config)).config).toEqual(config)
  })

  it('renders an optional object as a group behind an include switch, its fields recursively', () => {
    const check = field('check')
    expect(check.fields!.map((f) => [f.key, f.label, f.kind, f.path])).toEqual([
      ['jsonPath', 'JSON path', 'string', 'config.check.jsonPath'],
      ['equals', 'Equals', 'loose', 'config.check.equals'],
      ['regex', 'Regex', 'string', 'config.check.regex'],
    ])
    // Nested descriptions name sibling fields by their labels.
    expect(check.fields![1]!.description).toBe('The value at “JSON path” must equal this (deep equality).')
    const values = initialValues(fields, { url: 'https://x' })
    expect(values.check).toEqual({ [INCLUDE]: false, jsonPath: '', equals: '', regex: '' })
    const on = { ...values, check: { [INCLUDE]: true, jsonPath: 'data.state', equals: 'up', regex: '' } }
    expect(valuesToConfig(fields, values).config).not.toHaveProperty('check')
    expect(valuesToConfig(fields, on).config.check).toEqual({ jsonPath: 'data.state', equals: 'up' })
    // A hidden nested field (dotted key) is not sent.
    expect(valuesToConfig(fields, on, {}, new Set(['check.equals'])).config.check).toEqual({ jsonPath: 'data.state' })
    const config = { url: 'https://x', check: { jsonPath: 'count', equals: 3 } }
    const back = initialValues(fields, config)
    expect(back.check).toMatchObject({ [INCLUDE]: true, equals: '3' })
    expect(valuesToConfig(fields, back).config).toEqual(config)
  })

  it('sends statuses that are whole numbers as numbers, and leaves an empty list to its default', () => {
    const values = { ...initialValues(fields, {}), url: 'https://x', expectedStatus: ['200', ' 3xx ', ''] }
    expect(valuesToConfig(fields, values).config.expectedStatus).toEqual([200, '3xx'])
    expect(valuesToConfig(fields, { ...values, expectedStatus: [''] })).toEqual({ config: { url: 'https://x' }, errors: {} })
    expect(initialValues(fields, { expectedStatus: [204, '2xx'] }).expectedStatus).toEqual(['204', '2xx'])
  })

  it('reads a body as JSON when it is a JSON object or array, else as text', () => {
    const base = { ...initialValues(fields, {}), url: 'https://x', method: 'POST' }
    expect(valuesToConfig(fields, { ...base, body: '{"state": "up"}' }).config.body).toEqual({ state: 'up' })
    expect(valuesToConfig(fields, { ...base, body: 'plain text' }).config.body).toBe('plain text')
    expect(valuesToConfig(fields, { ...base, body: '42' }).config.body).toBe('42')
    expect(initialValues(fields, { body: { a: [1] } }).body).toBe('{\n  "a": [\n    1\n  ]\n}')
    expect(looseHint(field('body'))).toBe('A JSON object or array is sent as JSON; anything else as text.')
  })

  it('edits free-form maps (ansible extraVars, prefix_scan attributes) as name/value rows whose values are JSON when they look like JSON', () => {
    const f = schemaToFields({
      type: 'object',
      properties: {
        extraVars: { title: 'Extra variables', type: 'object', propertyNames: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, additionalProperties: {} },
        createTargets: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tags: { default: [], type: 'array', items: { type: 'string', minLength: 1 } },
            attributes: { default: {}, type: 'object', propertyNames: { type: 'string', minLength: 1 }, additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
            namePattern: { default: '{ip}', type: 'string' },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
          },
        },
      },
    })
    expect(f.map((x) => [x.key, x.kind])).toEqual([
      ['extraVars', 'value-map'],
      ['createTargets', 'object'],
    ])
    expect(f[1]!.fields!.map((x) => [x.key, x.label, x.kind])).toEqual([
      ['tags', 'Tags', 'string-list'],
      ['attributes', 'Attributes', 'value-map'],
      ['namePattern', 'Name pattern', 'string'],
      ['port', 'Port', 'integer'],
    ])
    expect(looseHint(f[0]!)).toMatch(/^Values written as JSON .* are read as JSON; anything else is sent as text\.$/)
    const vars = { extraVars: [['count', '3'], ['name', 'core-1'], ['list', '[1, "a"]'], ['quoted', '"42"'], ['flag', 'true']] as Array<[string, string]> }
    const r = valuesToConfig(f, { ...initialValues(f, {}), ...vars })
    expect(r.config).toEqual({ extraVars: { count: 3, name: 'core-1', list: [1, 'a'], quoted: '42', flag: true } })
    // A string that looks like JSON is shown quoted, so it comes back a string.
    expect(initialValues(f, r.config).extraVars).toEqual([['count', '3'], ['name', 'core-1'], ['list', '[1,"a"]'], ['quoted', '"42"'], ['flag', 'true']])
    expect(valuesToConfig(f, { ...initialValues(f, {}), extraVars: [['1bad', 'x']] }).errors['config.extraVars']).toMatch(/not a valid name/)
    // createTargets: off by default; on with nothing filled in sends {} (the server's defaults apply).
    const values = initialValues(f, {})
    expect(valuesToConfig(f, values).config).toEqual({})
    const on = { ...values, createTargets: { ...(values.createTargets as object), [INCLUDE]: true } }
    expect(valuesToConfig(f, on).config).toEqual({ createTargets: {} })
    const filled = { ...on, createTargets: { ...on.createTargets, tags: ['found'], attributes: [['rack', '12'], ['site', 'ams']] as Array<[string, string]>, port: '2222' } }
    expect(valuesToConfig(f, filled).config).toEqual({ createTargets: { tags: ['found'], attributes: { rack: 12, site: 'ams' }, port: 2222 } })
    expect(valuesToConfig(f, { ...filled, createTargets: { ...filled.createTargets, port: '0' } }).errors).toEqual({ 'config.createTargets.port': '0 is too small: must be at least 1 (and at most 65535).' })
  })

  it('parses free-form text as JSON only into the types a field allows', () => {
    expect(parseLoose('42')).toBe(42)
    expect(parseLoose('42', ['string', 'object'])).toBe('42')
    expect(parseLoose('7', ['integer', 'string'])).toBe(7)
    expect(parseLoose('not json')).toBe('not json')
    expect(parseLoose('null', ['string', 'null'])).toBeNull()
  })
})

// sync_devices' schema as the server publishes it (compare_devices has the same fields but the run options).
const syncDevices = {"type": "object", "properties": {"sourceId": {"type": "string", "format": "inventory-source-id", "description": "The Nautobot inventory source whose devices (and device filter) are used (its id as the API shows it, or its UUID)."}, "devices": {"description": "Only these device names (e.g. the ones selected on the comparison); unset: every device of the source.", "maxItems": 10000, "type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 200}}, "checkmk": {"type": "object", "properties": {"url": {"type": "string", "maxLength": 2000, "format": "uri", "description": "The Checkmk site URL; the REST API is under /check_mk/api/1.0/."}, "credentialId": {"type": "string", "format": "credential-id", "description": "A PASSWORD credential: the automation user name and its secret."}, "tlsVerify": {"default": true, "type": "boolean"}}, "required": ["url", "credentialId"], "additionalProperties": false}, "folderTemplate": {"default": "/", "format": "single-line", "description": "Folder path from device fields, e.g. /network/{{ location }}/{{ role }} (variables: name, location, role, platform, status, tags).", "type": "string", "minLength": 1, "maxLength": 500}, "site": {"description": "The site that monitors the hosts; unset: not managed.", "anyOf": [{"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[-\\w]+$"}, {"type": "null"}]}, "labels": {"default": {}, "description": "Host label key → value template, e.g. {\"nautobot/role\": \"{{ role }}\"}.", "type": "object", "propertyNames": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\s:]+$"}, "additionalProperties": {"type": "string", "maxLength": 500}}, "tagGroups": {"default": {}, "description": "Tag group attribute → tag id template, e.g. {\"tag_criticality\": \"prod\"}.", "type": "object", "propertyNames": {"type": "string", "pattern": "^tag_[-\\w]+$"}, "additionalProperties": {"type": "string", "maxLength": 200}}, "dryRun": {"default": false, "description": "Compute and record what would be done; change nothing.", "type": "boolean"}, "removeExtra": {"default": false, "description": "Delete hosts Switchyard manages whose device is gone from Nautobot (never other hosts).", "type": "boolean"}, "activate": {"default": false, "description": "Activate pending changes after the sync and wait for the activation.", "type": "boolean"}, "activationTimeoutSeconds": {"default": 300, "type": "integer", "minimum": 5, "maximum": 3600}, "chunkSize": {"default": 500, "description": "Hosts per bulk create/update/delete request.", "type": "integer", "minimum": 1, "maximum": 2000}, "maxRemoveFraction": {"default": 0.2, "description": "With removeExtra: refuse the sync when it would remove more than this share of the managed hosts (or any, when the source has no devices) unless forced.", "type": "number", "minimum": 0, "maximum": 1}, "force": {"default": false, "description": "Apply a removal the safety valve would refuse.", "type": "boolean"}}, "required": ["sourceId", "checkmk"], "additionalProperties": false} as JsonSchema

describe('the Checkmk job types\' form', () => {
  const fields = schemaToFields(syncDevices)
  const kinds = Object.fromEntries(fields.map((f) => [f.key, f.kind]))
  const byKey = (k: string) => fields.find((f) => f.key === k)!

  it('picks the inventory source and the credential, and keeps URLs and folder templates on one line', () => {
    expect(kinds).toMatchObject({ sourceId: 'inventory-source', devices: 'string-list', checkmk: 'object', folderTemplate: 'string', site: 'string', labels: 'string-map', tagGroups: 'string-map', dryRun: 'boolean', maxRemoveFraction: 'number' })
    expect(byKey('sourceId').label).toBe('Inventory source')
    const checkmk = byKey('checkmk').fields!
    expect(checkmk.map((f) => [f.key, f.kind, f.label])).toEqual([
      ['url', 'string', 'URL'],
      ['credentialId', 'credential', 'Credential'],
      ['tlsVerify', 'boolean', 'TLS verify'],
    ])
  })

  it('sends a whole config, leaving out what is empty so the defaults apply', () => {
    const values = initialValues(fields, {})
    expect(values.site).toBe('')
    const filled = { ...values, sourceId: 'SW52ZW50b3J5U291cmNlOjE=', checkmk: { ...(values.checkmk as object), url: 'https://cmk.example/site', credentialId: 'Q3JlZDox' }, labels: [['nautobot/role', '{{ role }}']] as Array<[string, string]>, tagGroups: [['tag_location', '{{ location }}']] as Array<[string, string]> }
    const r = valuesToConfig(fields, filled)
    expect(r.errors).toEqual({})
    expect(r.config).toMatchObject({ sourceId: 'SW52ZW50b3J5U291cmNlOjE=', checkmk: { url: 'https://cmk.example/site', credentialId: 'Q3JlZDox', tlsVerify: true }, labels: { 'nautobot/role': '{{ role }}' }, tagGroups: { tag_location: '{{ location }}' } })
    expect(r.config).not.toHaveProperty('site')
    expect(r.config).not.toHaveProperty('folderTemplate')
    expect(r.config).not.toHaveProperty('devices')
    // An existing config's null site reads as empty, and a set one comes back as text.
    expect(initialValues(fields, { site: null }).site).toBe('')
    expect(valuesToConfig(fields, { ...filled, site: 'mysite' }).config.site).toBe('mysite')
  })

  it('asks for the source, and says in words what a label key or tag group may be', () => {
    const r = valuesToConfig(fields, { ...initialValues(fields, {}), labels: [['bad key', 'x']], tagGroups: [['location', 'x']] })
    expect(r.errors['config.sourceId']).toBe('Choose inventory source.')
    expect(r.errors['config.labels']).toBe('“bad key” is not a valid name: no spaces or colons.')
    expect(r.errors['config.tagGroups']).toBe('“location” is not a valid name: it starts with tag_, then letters, digits, _ or -.')
  })
})

describe('defaultHint', () => {
  it('says a default in words, and nothing for empty lists and maps or for switches', () => {
    expect(defaultHint({ kind: 'string', default: '/' })).toBe('Default: /.')
    expect(defaultHint({ kind: 'integer', default: 300 })).toBe('Default: 300.')
    expect(defaultHint({ kind: 'string-list', default: [22, 830] })).toBe('Default: 22, 830.')
    expect(defaultHint({ kind: 'string-list', default: [] })).toBeNull()
    expect(defaultHint({ kind: 'string-map', default: {} })).toBeNull()
    expect(defaultHint({ kind: 'string-map', default: { team: 'ops' } })).toBe('Default: team = ops.')
    expect(defaultHint({ kind: 'boolean', default: true })).toBeNull()
    expect(defaultHint({ kind: 'string' })).toBeNull()
  })
})
