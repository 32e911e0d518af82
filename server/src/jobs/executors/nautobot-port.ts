/**
 * Write-back to Nautobot for `config_backup` (a device custom field set to the backup time) and
 * `prefix_scan` (prefixes read from Nautobot; live addresses and a "last scanned" field written back).
 *
 * Executors never open a source's API token themselves: the composition root hands in this port, whose
 * `open` checks — for the run's owner — that they may use the source and its token credential (as an
 * inventory sync does) and returns a session that speaks Nautobot's REST API. Messages never carry the token.
 */
import { z } from 'zod'

/** What one custom-field write did: `unchanged` when the field already held the value (a re-run). */
export type FieldWrite = 'written' | 'unchanged' | 'missing'
export type AddressWrite = 'created' | 'updated' | 'unchanged'

export interface NautobotPrefix {
  id: string
  /** CIDR, e.g. `10.0.0.0/24`. */
  prefix: string
  namespaceId: string
  namespace: string | null
}

export interface AddressWriteRequest {
  /** The host address without length. */
  host: string
  /** The mask length the address gets when created: that of the prefix it was found in. */
  maskLength: number
  namespaceId: string
  status: string
  /** Set when known (reverse DNS); an unknown name never clears the one Nautobot has. */
  dnsName?: string
}

export interface NautobotSession {
  readonly sourceName: string
  /** `missing` when the device is no longer in Nautobot. Throws when the field does not exist on devices. */
  setDeviceField(deviceId: string, field: string, value: string): Promise<FieldWrite>
  setPrefixField(prefixId: string, field: string, value: string): Promise<FieldWrite>
  /** Every prefix whose custom field `field` has a value (not null, not empty), all pages. */
  prefixesWithField(field: string): Promise<NautobotPrefix[]>
  /** Finds the address in its namespace (never a duplicate) and creates or updates it. */
  upsertAddress(request: AddressWriteRequest): Promise<{ action: AddressWrite; id: string }>
}

export interface NautobotWriteBackPort {
  open(request: { runId: string; sourceId: string; signal: AbortSignal }): Promise<NautobotSession>
}

/** A Nautobot custom field key (what the API's `custom_fields` uses): letters, digits, underscores. */
export const customFieldKey = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a Nautobot custom field key: letters, digits and underscores, not starting with a digit')

export const customFieldType = z.enum(['date', 'datetime', 'text'])
export type CustomFieldType = z.output<typeof customFieldType>

/**
 * A time as the custom field stores it, so that writing the same time again compares equal: Nautobot keeps
 * a datetime as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds) and a date as `YYYY-MM-DD`.
 */
export function customFieldTime(type: CustomFieldType, at: Date): string {
  const iso = at.toISOString()
  return type === 'date' ? iso.slice(0, 10) : `${iso.slice(0, 19)}Z`
}
