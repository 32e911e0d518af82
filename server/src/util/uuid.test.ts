import { describe, expect, it } from 'vitest'
import { isUuid, uuidOf } from './uuid.ts'

const id = '0A1B2C3D-4E5F-4a6b-8c7d-9e0f1a2b3c4d'
const global = (s: string) => Buffer.from(s).toString('base64')

describe('uuid', () => {
  it('isUuid accepts the text form in any case and nothing else', () => {
    expect(isUuid(id)).toBe(true)
    for (const bad of ['', 'not-a-uuid', `${id}x`, ` ${id}`, `${id}\n`, id.replaceAll('-', '')]) expect(isUuid(bad)).toBe(false)
  })

  it('uuidOf takes a bare UUID or the global id of the named type, lower-cased', () => {
    expect(uuidOf(id, 'Credential')).toBe(id.toLowerCase())
    expect(uuidOf(global(`Credential:${id}`), 'Credential')).toBe(id.toLowerCase())
    expect(uuidOf(global(`InventorySource:${id}`), 'Credential')).toBeNull()
    expect(uuidOf(global(`Credential:${id}\n`), 'Credential')).toBeNull()
    expect(uuidOf(global('Credential:'), 'Credential')).toBeNull()
    expect(uuidOf('not base64!', 'Credential')).toBeNull()
  })
})
