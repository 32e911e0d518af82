/**
 * References from a job config to a stored Switchyard credential (a Git remote's key or password, an
 * HTTP API token). The config keeps the credential's id as the API shows it (the GraphQL global id, or
 * the bare UUID); the template service checks at save that it names an existing credential of an
 * acceptable kind, and the dispatcher opens it right before the run, so a rotated secret is picked up
 * by the next run and the clear text never sits in the template.
 *
 * The JSON Schema of such a field carries `format: "credential-id"`, which the UI renders as a picker.
 */
import { z } from 'zod'
import type { DecryptedCredential } from './types.ts'
import { uuidOf } from '../../util/uuid.ts'

export type CredentialKind = DecryptedCredential['kind']

/** A credential named by a config, where (path inside the config) and which kinds fit there. */
export interface CredentialRef {
  path: ReadonlyArray<string | number>
  /** The credential's UUID (decoded from the global id). */
  id: string
  kinds: readonly CredentialKind[]
  /** Why only these kinds, for the error message: "an ssh repository needs a PRIVATE_KEY credential". */
  purpose: string
}

/** The UUID a credential id stands for: a bare UUID or the GraphQL global id `base64("Credential:<uuid>")`; null if neither. */
export function credentialUuid(value: string): string | null {
  return uuidOf(value, 'Credential')
}

/** A config field holding a credential id; its JSON Schema says so (`format: "credential-id"`). */
export function credentialIdField(description: string) {
  return z
    .string()
    .trim()
    .refine((v) => credentialUuid(v) !== null, 'must be the id of a credential')
    .meta({ format: 'credential-id', description })
}

/** Opens a referenced credential from the run's context, or explains why it is not there. */
export function requireCredential(credentials: ReadonlyMap<string, DecryptedCredential>, id: string, field: string): DecryptedCredential {
  const uuid = credentialUuid(id)
  const credential = uuid ? credentials.get(uuid) : undefined
  if (!credential) throw new Error(`${field}: the credential it names no longer exists (deleted after the template was saved?)`)
  return credential
}
