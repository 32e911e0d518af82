import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { customFieldMappingsOf, type CustomFieldMapping, type FieldChange, type SyncPlan } from '../../modules/inventory-sources/sync-plan.ts'
import type { SourceTestResult } from '../../modules/inventory-sources/inventory-sources.service.ts'

const InventorySourceKindEnum = builder.enumType('InventorySourceKind', { values: ['NAUTOBOT'] as const })
const InventorySyncModeEnum = builder.enumType('InventorySyncMode', {
  values: ['ADDITIVE', 'AUTHORITATIVE'] as const,
  description: 'ADDITIVE creates and updates targets; AUTHORITATIVE also removes the targets this source created whose device left it.',
})

interface SourceFilter {
  locations?: string[]
  roles?: string[]
  platforms?: string[]
  statuses?: string[]
  tags?: string[]
}

const InventorySourceFilterRef = builder.objectRef<SourceFilter>('InventorySourceFilter').implement({
  description: 'Which devices the source selects: names (or ids); values within a list are OR-ed, the lists AND-ed; empty lists select all.',
  fields: (t) => ({
    locations: t.stringList({ resolve: (f) => f.locations ?? [] }),
    roles: t.stringList({ resolve: (f) => f.roles ?? [] }),
    platforms: t.stringList({ resolve: (f) => f.platforms ?? [] }),
    statuses: t.stringList({ resolve: (f) => f.statuses ?? [] }),
    tags: t.stringList({ resolve: (f) => f.tags ?? [] }),
  }),
})

const CustomFieldMappingRef = builder.objectRef<CustomFieldMapping>('InventoryCustomFieldMapping').implement({
  description: 'A Nautobot device custom field mapped to a target attribute and/or tags `<tagPrefix>:<value>` (one per value of a multi-select field).',
  fields: (t) => ({
    customField: t.string({ description: "The custom field's key in Nautobot.", resolve: (m) => m.customField }),
    attribute: t.string({ nullable: true, description: 'The target attribute it sets (managed by the source like platform or role).', resolve: (m) => m.attribute ?? null }),
    tagPrefix: t.string({ nullable: true, description: 'Tags `<tagPrefix>:<value>`; null: no tags.', resolve: (m) => m.tagPrefix ?? null }),
  }),
})

builder.prismaNode('InventorySource', {
  id: { field: 'id' },
  description: 'Where targets come from besides hand entry: a Nautobot, read through its GraphQL API and synced by `inventory_sync` runs.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    kind: t.expose('kind', { type: InventorySourceKindEnum }),
    url: t.exposeString('url'),
    tokenCredential: t.relation('tokenCredential', { description: 'The PASSWORD credential whose password is the API token (never returned).' }),
    tlsVerify: t.exposeBoolean('tlsVerify'),
    caCertificate: t.exposeString('caCertificate', { nullable: true, description: 'PEM certificates trusted besides the system CAs.' }),
    filter: t.field({ type: InventorySourceFilterRef, resolve: (s) => s.filter as SourceFilter }),
    defaultPort: t.exposeInt('defaultPort'),
    defaultCredential: t.relation('defaultCredential', { nullable: true, description: 'Set on the targets a sync creates.' }),
    extraTags: t.exposeStringList('extraTags', { description: 'Added to every target of this source.' }),
    syncMode: t.expose('syncMode', { type: InventorySyncModeEnum }),
    maxDeleteFraction: t.exposeFloat('maxDeleteFraction', { description: 'An authoritative sync removing a larger share of the source\'s targets is refused unless forced.' }),
    customFieldMappings: t.field({ type: [CustomFieldMappingRef], resolve: (s) => customFieldMappingsOf(s) }),
    syncBeforeRunMaxAgeSeconds: t.exposeInt('syncBeforeRunMaxAgeSeconds', {
      nullable: true,
      description: "A run whose targets come from this source first syncs it when its last applied sync is older than this many seconds; null: never.",
    }),
    syncBeforeRunRequired: t.exposeBoolean('syncBeforeRunRequired', {
      description: 'When that sync fails: true fails the run; false (default) runs on the last-known targets and logs a WARNING naming the source and the error.',
    }),
    owner: t.relation('owner', { nullable: true, description: 'Who may change, sync or delete it (and admins).' }),
    targetCount: t.int({ description: 'Targets this source created that still exist.', resolve: (s, _a, ctx) => ctx.prisma.target.count({ where: { sourceId: s.id } }) }),
    lastSyncAt: t.expose('lastSyncAt', { type: 'DateTime', nullable: true }),
    lastSyncResult: t.expose('lastSyncResult', { type: 'JSON', nullable: true, description: '{ created, updated, removed, unchanged, skipped } of the last applied sync.' }),
    lastSyncRun: t.prismaField({
      type: 'JobRun',
      nullable: true,
      select: { lastSyncRunId: true },
      resolve: (query, s, _a, ctx) => (s.lastSyncRunId ? ctx.prisma.jobRun.findUnique({ ...query, where: { id: s.lastSyncRunId } }) : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const InventorySourceFilterInput = builder.inputType('InventorySourceFilterInput', {
  fields: (t) => ({
    locations: t.stringList(),
    roles: t.stringList(),
    platforms: t.stringList(),
    statuses: t.stringList(),
    tags: t.stringList(),
  }),
})

const CustomFieldMappingInput = builder.inputType('InventoryCustomFieldMappingInput', {
  fields: (t) => ({
    customField: t.string({ required: true, description: "The custom field's key in Nautobot." }),
    attribute: t.string({ description: 'Target attribute to set.' }),
    tagPrefix: t.string({ description: 'Tags `<tagPrefix>:<value>`.' }),
  }),
})

const inputFields = (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<object>, 'InputObject'>, create: boolean) => ({
  name: t.string({ required: create }),
  description: t.string(),
  kind: t.field({ type: InventorySourceKindEnum, required: create }),
  url: t.string({ required: create, description: 'The Nautobot base URL, e.g. https://nautobot.example.com' }),
  tokenCredentialId: t.id({ required: create, description: 'A PASSWORD credential whose password is the API token.' }),
  tlsVerify: t.boolean({ description: 'Default true.' }),
  caCertificate: t.string({ description: 'PEM; null clears it.' }),
  filter: t.field({ type: InventorySourceFilterInput }),
  defaultPort: t.int({ description: 'Port of the targets created. Default 22.' }),
  defaultCredentialId: t.id({ description: 'Credential set on the targets created; null clears it.' }),
  extraTags: t.stringList(),
  syncMode: t.field({ type: InventorySyncModeEnum, description: 'Default ADDITIVE.' }),
  maxDeleteFraction: t.float({ description: '0..1, default 0.2.' }),
  customFieldMappings: t.field({ type: [CustomFieldMappingInput], description: 'Replaces the whole list.' }),
  syncBeforeRunMaxAgeSeconds: t.int({ description: 'Seconds (10 s to 30 days); null turns the sync before runs off.' }),
  syncBeforeRunRequired: t.boolean({ description: 'Default false: a failed sync before a run lets the run go on with a WARNING.' }),
})

const CreateInventorySourceInput = builder.inputType('CreateInventorySourceInput', { fields: (t) => inputFields(t as never, true) })
const UpdateInventorySourceInput = builder.inputType('UpdateInventorySourceInput', {
  description: 'Omitted fields keep their value.',
  fields: (t) => inputFields(t as never, false),
})

function sourceInput(input: Record<string, unknown>) {
  const out: Record<string, unknown> = withoutNulls(input, ['caCertificate', 'defaultCredentialId', 'syncBeforeRunMaxAgeSeconds'])
  if (out.tokenCredentialId != null) out.tokenCredentialId = decodeId(String(out.tokenCredentialId), 'Credential', 'input.tokenCredentialId')
  if (out.defaultCredentialId != null) out.defaultCredentialId = decodeId(String(out.defaultCredentialId), 'Credential', 'input.defaultCredentialId')
  if (out.filter) out.filter = withoutNulls(out.filter as Record<string, unknown>)
  if (Array.isArray(out.customFieldMappings)) out.customFieldMappings = out.customFieldMappings.map((m: Record<string, unknown>) => withoutNulls(m))
  return out
}

const InventorySourceTestResultRef = builder.objectRef<SourceTestResult>('InventorySourceTestResult').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    message: t.exposeString('message', { description: 'What happened, in words (the source\'s error when it failed).' }),
    version: t.exposeString('version', { nullable: true, description: 'Nautobot\'s version.' }),
    deviceCount: t.exposeInt('deviceCount', { nullable: true, description: 'Devices the filter selects.' }),
  }),
})

const FieldChangeRef = builder.objectRef<FieldChange>('InventoryFieldChange').implement({
  fields: (t) => ({
    field: t.exposeString('field', { description: 'host, port, tags or attributes.<name>' }),
    old: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.old as never }),
    new: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.new as never }),
  }),
})
type Planned = SyncPlan['create'][number]
const PlannedTargetRef = builder.objectRef<Planned>('InventoryPlannedTarget').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    host: t.exposeString('host'),
    port: t.exposeInt('port'),
    tags: t.exposeStringList('tags'),
    attributes: t.field({ type: 'JSON', resolve: (p) => p.attributes }),
  }),
})
const PlannedUpdateRef = builder.objectRef<SyncPlan['update'][number]>('InventoryPlannedUpdate').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    target: t.prismaField({ type: 'Target', nullable: true, resolve: (query, u, _a, ctx) => ctx.prisma.target.findUnique({ ...query, where: { id: u.id } }) }),
    changes: t.field({ type: [FieldChangeRef], resolve: (u) => u.changes }),
  }),
})
const PlannedRemovalRef = builder.objectRef<SyncPlan['remove'][number]>('InventoryPlannedRemoval').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    host: t.exposeString('host'),
    target: t.prismaField({ type: 'Target', nullable: true, resolve: (query, r, _a, ctx) => ctx.prisma.target.findUnique({ ...query, where: { id: r.id } }) }),
  }),
})
const SkippedDeviceRef = builder.objectRef<SyncPlan['skipped'][number]>('InventorySkippedDevice').implement({
  fields: (t) => ({ name: t.exposeString('name'), reason: t.exposeString('reason') }),
})
const InventorySyncPreviewRef = builder.objectRef<SyncPlan>('InventorySyncPreview').implement({
  description: 'What a sync would do now (the same diff the `inventory_sync` run applies).',
  fields: (t) => ({
    deviceCount: t.exposeInt('deviceCount', { description: 'Devices the source returned.' }),
    create: t.field({ type: [PlannedTargetRef], resolve: (p) => p.create }),
    update: t.field({ type: [PlannedUpdateRef], resolve: (p) => p.update }),
    remove: t.field({ type: [PlannedRemovalRef], resolve: (p) => p.remove }),
    unchanged: t.stringList({ description: 'Names of the targets already up to date.', resolve: (p) => p.unchanged }),
    skipped: t.field({ type: [SkippedDeviceRef], description: 'Devices that cannot become targets (no primary IP, name taken by a hand-made target, …).', resolve: (p) => p.skipped }),
    changesNothing: t.boolean({ resolve: (p) => !p.create.length && !p.update.length && !p.remove.length }),
    refusal: t.exposeString('refusal', { nullable: true, description: 'Why the safety valve would refuse this sync unless forced; null when it would not.' }),
  }),
})

builder.queryFields((t) => ({
  inventorySources: t.prismaField({ type: ['InventorySource'], resolve: (_q, _r, _a, ctx) => ctx.services.inventorySources.list(ctx.actor) }),
  inventorySource: t.prismaField({
    type: 'InventorySource',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.inventorySources.get(ctx.actor, decodeId(String(args.id), 'InventorySource', 'id')),
  }),
}))

builder.mutationFields((t) => ({
  createInventorySource: t.prismaField({
    type: 'InventorySource',
    args: { input: t.arg({ type: CreateInventorySourceInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.inventorySources.create(ctx.actor, sourceInput(args.input as Record<string, unknown>)),
  }),
  updateInventorySource: t.prismaField({
    type: 'InventorySource',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInventorySourceInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.inventorySources.update(ctx.actor, decodeId(String(args.id), 'InventorySource', 'id'), sourceInput(args.input as Record<string, unknown>)),
  }),
  deleteInventorySource: t.id({
    description: 'Deletes the source; its targets stay, as hand-managed targets.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.inventorySources.delete(ctx.actor, decodeId(String(args.id), 'InventorySource', 'id'))
      return args.id
    },
  }),
  testInventorySource: t.field({
    type: InventorySourceTestResultRef,
    description: 'Connects with the API token and counts the devices the filter selects.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.inventorySources.test(ctx.actor, decodeId(String(args.id), 'InventorySource', 'id')),
  }),
  previewInventorySync: t.field({
    type: InventorySyncPreviewRef,
    description: 'Dry run: the diff a sync would apply now. Changes nothing. A failing source is SOURCE_UNAVAILABLE.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.inventorySources.preview(ctx.actor, decodeId(String(args.id), 'InventorySource', 'id')),
  }),
  syncInventorySource: t.prismaField({
    type: 'JobRun',
    description: 'Starts an `inventory_sync` run for the source; `force` applies an authoritative sync the safety valve would refuse.',
    args: { id: t.arg.id({ required: true }), force: t.arg.boolean({ defaultValue: false }) },
    resolve: (_q, _r, args, ctx) => ctx.services.inventorySources.triggerSync(ctx.actor, decodeId(String(args.id), 'InventorySource', 'id'), args.force ?? false),
  }),
}))
