/** Global ids in arguments: decoded and checked here so a bad id is a field error, not a crash. */
import { decodeGlobalID } from '@pothos/plugin-relay'
import { ValidationError } from '../errors.ts'
import { isUuid } from '../util/uuid.ts'

export function decodeId(value: string, typename: string, field: string): string {
  let decoded: { typename: string; id: string }
  try {
    decoded = decodeGlobalID(String(value))
  } catch {
    throw ValidationError.field(field, `not a valid ${typename} id`)
  }
  if (decoded.typename !== typename || !isUuid(decoded.id)) throw ValidationError.field(field, `not a valid ${typename} id`)
  return decoded.id
}

/** A global id of any of `typenames` (e.g. "events about this entity, whatever it is"). */
export function decodeIdOf<T extends string>(value: string, typenames: readonly T[], field: string): { typename: T; id: string } {
  let decoded: { typename: string; id: string }
  try {
    decoded = decodeGlobalID(String(value))
  } catch {
    throw ValidationError.field(field, 'not a valid id')
  }
  if (!(typenames as readonly string[]).includes(decoded.typename) || !isUuid(decoded.id)) throw ValidationError.field(field, `not a valid id of a ${typenames.join(', ')}`)
  return { typename: decoded.typename as T, id: decoded.id }
}

export function decodeIds(values: readonly string[] | null | undefined, typename: string, field: string): string[] {
  return (values ?? []).map((v, i) => decodeId(v, typename, `${field}.${i}`))
}
