import { describe, expect, it } from 'vitest'
import { EMPTY_AUDIT_FILTERS, hasAuditFilters, parseAuditFilters, serializeAuditFilters, toAuditApiFilter } from './audit-filters'
import { actorLabel, describeChange, entityHref, formatAuditValue } from './audit-format'

const q = (s: string) => new URLSearchParams(s)

describe('audit filter URL codec', () => {
  it('parses families, entity types, actor and time; drops unknown values and duplicates', () => {
    expect(parseAuditFilters(q('action=template,LOGIN,nope,template&entity=job_template,NOPE&actor=VXNlcjox&range=24h'))).toEqual({
      families: ['template', 'login'],
      entityTypes: ['JOB_TEMPLATE'],
      actorId: 'VXNlcjox',
      range: '24h',
      from: null,
      to: null,
    })
    expect(parseAuditFilters(q('range=1y&from=2026-01-01T00:00:00Z&to=garbage'))).toMatchObject({ range: null, from: '2026-01-01T00:00:00.000Z', to: null })
    expect(parseAuditFilters(q(''))).toEqual(EMPTY_AUDIT_FILTERS)
  })

  it('round-trips through the query string', () => {
    const f = { ...EMPTY_AUDIT_FILTERS, families: ['credential' as const, 'template' as const], actorId: 'a=', from: '2026-01-01T00:00:00.000Z' }
    const s = serializeAuditFilters(f)
    expect(s).toBe('action=credential%2Ctemplate&actor=a%3D&from=2026-01-01T00%3A00%3A00.000Z')
    expect(parseAuditFilters(q(s))).toEqual(f)
    expect(serializeAuditFilters(EMPTY_AUDIT_FILTERS)).toBe('')
    expect(hasAuditFilters(EMPTY_AUDIT_FILTERS)).toBe(false)
    expect(hasAuditFilters(f)).toBe(true)
  })

  it('turns families into action prefixes and presets into instants', () => {
    const now = Date.parse('2026-06-01T12:00:00Z')
    expect(toAuditApiFilter({ ...EMPTY_AUDIT_FILTERS, families: ['login', 'template'], range: '1h' }, now)).toEqual({
      actions: ['template.', 'login.', 'logout'],
      since: '2026-06-01T11:00:00.000Z',
    })
    expect(toAuditApiFilter({ ...EMPTY_AUDIT_FILTERS, entityTypes: ['JOB_RUN'], actorId: 'u', from: 'f', to: 't' })).toEqual({ entityTypes: ['JOB_RUN'], actorId: 'u', since: 'f', until: 't' })
    expect(toAuditApiFilter(EMPTY_AUDIT_FILTERS)).toEqual({})
  })
})

describe('audit event display', () => {
  it('links to the entity where a page exists, never for deleted ones or tokens', () => {
    expect(entityHref('JOB_TEMPLATE', 'Sm9iVGVtcGxhdGU6MQ==', 'template.update')).toBe('/templates/Sm9iVGVtcGxhdGU6MQ%3D%3D')
    expect(entityHref('JOB_RUN', 'r1', 'run.trigger')).toBe('/runs/r1')
    expect(entityHref('CREDENTIAL', 'c1', 'credential.update')).toBe('/credentials')
    expect(entityHref('JOB_TEMPLATE', 't1', 'template.delete')).toBeNull()
    expect(entityHref('API_TOKEN', 'k1', 'token.create')).toBeNull()
    expect(entityHref('USER', null, 'login.failed')).toBeNull()
    expect(entityHref('INVENTORY_SOURCE', 'SW52ZW50b3J5U291cmNlOjE=', 'inventory-source.update')).toBe('/inventory-sources/SW52ZW50b3J5U291cmNlOjE%3D')
    expect(entityHref('NOTIFICATION_CHANNEL', 'n1', 'notification-channel.redeliver')).toBe('/notifications')
    expect(entityHref('NOTIFICATION_RULE', 'n1', 'notification-rule.delete')).toBeNull()
  })

  it('describes changes: secrets by name only, creations by new value, updates old → new', () => {
    expect(describeChange({ field: 'password', redacted: true, oldValue: null, newValue: null }, 'credential.update')).toBe('password changed')
    expect(describeChange({ field: 'port', redacted: false, oldValue: null, newValue: 22 }, 'target.create')).toBe('port: 22')
    expect(describeChange({ field: 'name', redacted: false, oldValue: 'a', newValue: 'b' }, 'template.update')).toBe('name: a → b')
    expect(describeChange({ field: 'timeoutSeconds', redacted: false, oldValue: null, newValue: 60 }, 'template.update')).toBe('timeoutSeconds: — → 60')
    expect(describeChange({ field: 'tags', redacted: false, oldValue: ['x'], newValue: [] }, 'target.update')).toBe('tags: ["x"] → []')
    expect(formatAuditValue('')).toBe('""')
  })

  it('names actors that are not users', () => {
    expect(actorLabel({ actorName: 'olga', via: 'API_TOKEN' })).toBe('olga')
    expect(actorLabel({ actorName: null, via: 'SCHEDULE' })).toBe('Scheduler')
    expect(actorLabel({ actorName: null, via: 'SYSTEM' })).toBe('Switchyard')
  })
})
