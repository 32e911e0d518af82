/** Whether `value` is a UUID in its text form (any case): what a uuid column accepts without an error. */
export function isUuid(value: string): boolean {
  return UUID.test(value)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The UUID an id given in a job template's config stands for: a bare UUID, or the API's global id of a
 * `typename` (`base64("<typename>:<uuid>")`); lower-cased; null if neither.
 */
export function uuidOf(value: string, typename: string): string | null {
  if (isUuid(value)) return value.toLowerCase()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const id = decoded.startsWith(`${typename}:`) ? decoded.slice(typename.length + 1) : null
  return id !== null && isUuid(id) ? id.toLowerCase() : null
}
