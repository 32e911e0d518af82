/**
 * GraphQL gives `null` for omitted nullable input fields; services treat "absent" and "clear" apart.
 * Nulls are dropped except for the fields where null means "clear this value".
 */
export function withoutNulls<T extends object>(input: T, clearable: readonly string[] = []): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([k, v]) => v !== undefined && (v !== null || clearable.includes(k)))) as Partial<T>
}
