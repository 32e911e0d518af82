/**
 * The config `compare_devices` and `sync_devices` share: which Nautobot devices (an inventory source, and
 * optionally only some device names — the dashboard's "sync selected"), which Checkmk (site URL and a
 * stored PASSWORD credential: automation user + secret), and how a device becomes a host.
 */
import { z } from 'zod'
import { mappingProblems, MANAGED_LABEL } from '../../../checkmk/host-plan.ts'
import { credentialIdField, credentialUuid, type CredentialRef } from '../credential-ref.ts'
import type { SourceRef } from '../types.ts'
import { uuidOf } from '../../../util/uuid.ts'

const siteUrl = z
  .string()
  .trim()
  .max(2000)
  .refine((u) => {
    try {
      const p = new URL(u)
      return (p.protocol === 'http:' || p.protocol === 'https:') && !p.username && !p.password && !p.search && !p.hash
    } catch {
      return false
    }
  }, 'must be the http(s) URL of the Checkmk site without credentials, e.g. https://monitoring.example.com/mysite')

const labelKey = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^\s:]+$/, 'a label key has no spaces or colons')
  .refine((k) => k !== MANAGED_LABEL, `${MANAGED_LABEL} is Switchyard's own marker label`)

/** The UUID an inventory source id stands for: a bare UUID or the API's global id; null if neither. */
export function sourceUuid(value: string): string | null {
  return uuidOf(value, 'InventorySource')
}

export const mappingFields = {
  sourceId: z
    .string()
    .trim()
    .refine((v) => sourceUuid(v) !== null, 'must be the id of an inventory source')
    // The format makes the console offer a picker of inventory sources instead of a text box.
    .meta({ format: 'inventory-source-id', description: 'The Nautobot inventory source whose devices (and device filter) are used (its id as the API shows it, or its UUID).' }),
  devices: z
    .array(z.string().trim().min(1).max(200))
    .max(10_000)
    .optional()
    .describe('Only these device names (e.g. the ones selected on the comparison); unset: every device of the source.'),
  checkmk: z
    .object({
      url: siteUrl.meta({ format: 'uri', description: 'The Checkmk site URL; the REST API is under /check_mk/api/1.0/.' }),
      credentialId: credentialIdField('A PASSWORD credential: the automation user name and its secret.'),
      tlsVerify: z.boolean().default(true),
    })
    .strict(),
  folderTemplate: z
    .string()
    .trim()
    .min(1)
    .max(500)
    .default('/')
    // One line, however long it may be (the console gives long strings a text box otherwise).
    .meta({ format: 'single-line', description: 'Folder path from device fields, e.g. /network/{{ location }}/{{ role }} (variables: name, location, role, platform, status, tags).' }),
  site: z.string().trim().min(1).max(100).regex(/^[-\w]+$/, 'a Checkmk site id').nullish().describe('The site that monitors the hosts; unset: not managed.'),
  labels: z.record(labelKey, z.string().max(500)).default({}).describe('Host label key → value template, e.g. {"nautobot/role": "{{ role }}"}.'),
  tagGroups: z
    .record(z.string().regex(/^tag_[-\w]+$/, 'a tag group attribute starts with tag_'), z.string().max(200))
    .default({})
    .describe('Tag group attribute → tag id template, e.g. {"tag_criticality": "prod"}.'),
}

type MappingConfig = { folderTemplate: string; labels: Record<string, string>; tagGroups: Record<string, string>; site?: string | null }

export function refineMapping(config: MappingConfig, ctx: z.RefinementCtx): void {
  for (const p of mappingProblems({ folderTemplate: config.folderTemplate, labels: config.labels, tagGroups: config.tagGroups, site: config.site ?? null })) {
    ctx.addIssue({ code: 'custom', path: p.path, message: p.message })
  }
}

/** The inventory source the config reads (checked at template save: exists, usable by the one saving, a Nautobot). */
export function checkmkSourceRefs(config: { sourceId: string }): SourceRef[] {
  return [{ path: ['sourceId'], id: sourceUuid(config.sourceId)!, kinds: ['NAUTOBOT'] }]
}

export function checkmkCredentialRefs(config: { checkmk: { credentialId: string } }): CredentialRef[] {
  return [{ path: ['checkmk', 'credentialId'], id: credentialUuid(config.checkmk.credentialId)!, kinds: ['PASSWORD'], purpose: 'Checkmk needs a PASSWORD credential (automation user and secret)' }]
}
