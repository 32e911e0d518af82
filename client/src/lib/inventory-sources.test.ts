import { describe, expect, it } from 'vitest'
import { attributePairs, changeValue, filterSummary, fractionToPercent, previewCounts, previewSummary, sourceFormState, sourceInput, syncCounts, syncResultWords, type SourceLike } from './inventory-sources'

const source: SourceLike = {
  name: 'nautobot prod',
  description: 'core',
  url: 'https://nautobot.example.net',
  tokenCredential: { id: 'tok' },
  tlsVerify: false,
  caCertificate: null,
  filter: { locations: ['ams1'], roles: [], platforms: ['eos'], statuses: [], tags: [] },
  defaultPort: 2222,
  defaultCredential: { id: 'ssh' },
  extraTags: ['nautobot'],
  syncMode: 'AUTHORITATIVE',
  maxDeleteFraction: 0.125,
  customFieldMappings: [{ customField: 'site_code', attribute: 'site_code', tagPrefix: null }],
  syncBeforeRunMaxAgeSeconds: 900,
  syncBeforeRunRequired: true,
}

describe('inventory source form', () => {
  it('starts a new source with the API defaults (port 22, additive, 20 %, TLS verified)', () => {
    const s = sourceFormState(null, { tokenCredentialId: 'tok' })
    expect(s).toMatchObject({ tokenCredentialId: 'tok', defaultPort: '22', syncMode: 'ADDITIVE', maxDeletePercent: '20', tlsVerify: true, defaultCredentialId: '' })
  })

  it('round-trips a source through the form to the same input', () => {
    const { input, errors } = sourceInput(sourceFormState(source))
    expect(errors).toEqual({})
    expect(input).toEqual({
      kind: 'NAUTOBOT',
      name: 'nautobot prod',
      description: 'core',
      url: 'https://nautobot.example.net',
      tokenCredentialId: 'tok',
      tlsVerify: false,
      caCertificate: null,
      filter: { locations: ['ams1'], roles: [], platforms: ['eos'], statuses: [], tags: [] },
      defaultPort: 2222,
      defaultCredentialId: 'ssh',
      extraTags: ['nautobot'],
      syncMode: 'AUTHORITATIVE',
      maxDeleteFraction: 0.125,
      customFieldMappings: [{ customField: 'site_code', attribute: 'site_code', tagPrefix: null }],
      syncBeforeRunMaxAgeSeconds: 900,
      syncBeforeRunRequired: true,
    })
  })

  it('takes the TTL in minutes (off: null) and drops empty mapping rows', () => {
    const s = sourceFormState(source)
    expect(s).toMatchObject({ syncBeforeRun: true, syncBeforeRunMinutes: '15' })
    expect(sourceInput({ ...s, syncBeforeRun: false }).input.syncBeforeRunMaxAgeSeconds).toBeNull()
    expect(sourceInput({ ...s, syncBeforeRunMinutes: '0.5' }).errors.syncBeforeRunMaxAgeSeconds).toMatch(/between 1 and 43200/)
    expect(sourceInput({ ...s, syncBeforeRunMinutes: 'soon' }).errors.syncBeforeRunMaxAgeSeconds).toBeDefined()
    // A turned-off TTL is not checked.
    expect(sourceInput({ ...s, syncBeforeRun: false, syncBeforeRunMinutes: 'soon' }).errors).toEqual({})
    const rows = [{ customField: ' tier ', attribute: '', tagPrefix: 'tier' }, { customField: '', attribute: ' ', tagPrefix: '' }]
    expect(sourceInput({ ...s, customFieldMappings: rows }).input.customFieldMappings).toEqual([{ customField: 'tier', attribute: null, tagPrefix: 'tier' }])
  })

  it('shows the share as a percentage and takes it back as a fraction without float noise', () => {
    expect(fractionToPercent(0.2)).toBe('20')
    expect(fractionToPercent(0.125)).toBe('12.5')
    expect(sourceInput({ ...sourceFormState(source), maxDeletePercent: '33.3 ' }).input.maxDeleteFraction).toBe(0.333)
    expect(sourceInput({ ...sourceFormState(source), maxDeletePercent: '5%' }).input.maxDeleteFraction).toBe(0.05)
  })

  it('names the fields the API would refuse only after a round trip, by their API names', () => {
    const { errors } = sourceInput({ ...sourceFormState(source), defaultPort: '22.5', maxDeletePercent: '150' })
    expect(Object.keys(errors).sort()).toEqual(['defaultPort', 'maxDeleteFraction'])
    expect(sourceInput({ ...sourceFormState(source), defaultPort: '' }).errors.defaultPort).toMatch(/whole number/)
    expect(sourceInput({ ...sourceFormState(source), maxDeletePercent: 'lots' }).errors.maxDeleteFraction).toMatch(/between 0 and 100/)
  })

  it('clears an empty CA certificate and an unset default credential with null, and trims lists', () => {
    const { input } = sourceInput({ ...sourceFormState(source), caCertificate: '  \n', defaultCredentialId: '', extraTags: [' a ', ''], filter: { ...sourceFormState(source).filter, roles: [' leaf', ' '] } })
    expect(input.caCertificate).toBeNull()
    expect(input.defaultCredentialId).toBeNull()
    expect(input.extraTags).toEqual(['a'])
    expect(input.filter.roles).toEqual(['leaf'])
  })

  it('says which devices the filter selects', () => {
    expect(filterSummary(source.filter)).toBe('Locations ams1 · Platforms eos')
    expect(filterSummary({ locations: [], roles: [], platforms: [], statuses: [], tags: [] })).toBe('Every device')
  })
})

describe('sync results and the dry run in words', () => {
  it('reads the last sync result and says what changed', () => {
    expect(syncCounts({ created: 2, updated: 0, removed: 1, unchanged: 5, skipped: 0 })).toEqual({ created: 2, updated: 0, removed: 1, unchanged: 5, skipped: 0 })
    expect(syncResultWords({ created: 2, updated: 0, removed: 1, unchanged: 5, skipped: 0 })).toBe('2 created, 1 removed, 5 unchanged')
    expect(syncResultWords({ created: 0, updated: 0, removed: 0, unchanged: 4, skipped: 1 })).toBe('nothing changed (4 unchanged, 1 skipped)')
    expect(syncResultWords({ created: 0 })).toBe('nothing changed')
    expect(syncResultWords(null)).toBe('no result')
    expect(syncResultWords('garbage')).toBe('no result')
  })

  const empty = { deviceCount: 0, create: [], update: [], remove: [], unchanged: [], skipped: [], refusal: null }

  it('counts the diff in the order it is shown', () => {
    const counts = previewCounts({ ...empty, create: [1, 2], unchanged: ['a'] })
    expect(counts.map((c) => [c.key, c.count])).toEqual([['create', 2], ['update', 0], ['remove', 0], ['unchanged', 1], ['skipped', 0]])
  })

  it('summarises the dry run, and the safety valve when it would refuse', () => {
    expect(previewSummary({ ...empty, deviceCount: 3, create: [1, 2], update: [1] })).toBe('The source returned 3 devices. A sync now would create 2 and update 1 targets.')
    expect(previewSummary({ ...empty, deviceCount: 1, create: [1] })).toBe('The source returned 1 device. A sync now would create 1 target.')
    expect(previewSummary({ ...empty, deviceCount: 2, unchanged: ['a', 'b'] })).toBe('The source returned 2 devices. A sync now would change nothing.')
    expect(previewSummary({ ...empty, remove: [1, 2, 3], refusal: 'it would remove 3 of 3 targets (100 %), more than 20 %' })).toBe(
      'The source returned 0 devices. A sync now would remove 3 targets — but the safety valve would refuse it unless forced (it would remove 3 of 3 targets (100 %), more than 20 %).',
    )
  })

  it('shows changed values as text', () => {
    expect(changeValue(null)).toBe('—')
    expect(changeValue(['a', 'b'])).toBe('a, b')
    expect(changeValue([])).toBe('—')
    expect(changeValue(22)).toBe('22')
    expect(changeValue({ a: 1 })).toBe('{"a":1}')
    expect(attributePairs({ platform: 'eos', role: null, location: 'ams1' })).toEqual(['platform=eos', 'location=ams1'])
    expect(attributePairs(null)).toEqual([])
  })
})
