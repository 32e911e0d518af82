import { builder } from '../builder.ts'
import { decodeId, decodeIds } from '../ids.ts'
import { withoutNulls } from '../input.ts'

builder.prismaNode('Target', {
  id: { field: 'id' },
  description: 'A server or network device jobs run on.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    host: t.exposeString('host'),
    port: t.exposeInt('port'),
    tags: t.exposeStringList('tags'),
    attributes: t.expose('attributes', { type: 'JSON', description: 'Free attributes (location, platform, …), usable in path and command templates.' }),
    credential: t.relation('credential', { nullable: true }),
    hostKeyFingerprint: t.exposeString('hostKeyFingerprint', { nullable: true, description: 'SHA256 fingerprint trusted at first contact.' }),
    hostKeyAlgorithm: t.exposeString('hostKeyAlgorithm', { nullable: true }),
    owner: t.relation('owner', { nullable: true, description: 'Who may change or delete it (and admins); null: admin-managed.' }),
    source: t.relation('source', { nullable: true, description: 'The inventory source that created it (and syncs it); null: made by hand.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const CreateTargetInput = builder.inputType('CreateTargetInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    host: t.string({ required: true }),
    port: t.int({ description: 'Default 22.' }),
    credentialId: t.id(),
    tags: t.stringList(),
    attributes: t.field({ type: 'JSON' }),
  }),
})
const UpdateTargetInput = builder.inputType('UpdateTargetInput', {
  description: 'Omitted fields keep their value; credentialId: null detaches the credential.',
  fields: (t) => ({
    name: t.string(),
    description: t.string(),
    host: t.string(),
    port: t.int(),
    credentialId: t.id(),
    tags: t.stringList(),
    attributes: t.field({ type: 'JSON' }),
  }),
})

function targetInput(input: { credentialId?: string | number | null } & Record<string, unknown>) {
  const out = withoutNulls(input, ['credentialId'])
  if (typeof out.credentialId === 'string' || typeof out.credentialId === 'number') out.credentialId = decodeId(String(out.credentialId), 'Credential', 'input.credentialId')
  return out
}

builder.queryFields((t) => ({
  targets: t.prismaField({
    type: ['Target'],
    args: { search: t.arg.string(), tags: t.arg.stringList() },
    resolve: (query, _r, args, ctx) => ctx.services.targets.list(ctx.actor, args, query),
  }),
  target: t.prismaField({
    type: 'Target',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.targets.get(ctx.actor, decodeId(String(args.id), 'Target', 'id')),
  }),
}))

builder.mutationFields((t) => ({
  createTarget: t.prismaField({
    type: 'Target',
    args: { input: t.arg({ type: CreateTargetInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.targets.create(ctx.actor, targetInput(args.input)),
  }),
  updateTarget: t.prismaField({
    type: 'Target',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateTargetInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.targets.update(ctx.actor, decodeId(String(args.id), 'Target', 'id'), targetInput(args.input)),
  }),
  deleteTarget: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.targets.delete(ctx.actor, decodeId(String(args.id), 'Target', 'id'))
      return args.id
    },
  }),
  forgetTargetHostKey: t.prismaField({
    type: 'Target',
    description: 'Clears the trusted host key (after a legitimate re-key); the next connection trusts the key it sees.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.targets.forgetHostKey(ctx.actor, decodeId(String(args.id), 'Target', 'id')),
  }),
}))

// Inventories
builder.prismaNode('Inventory', {
  id: { field: 'id' },
  description: 'A saved target selector: explicit targets, plus targets carrying all `tags` whose name matches one of `namePatterns`.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    tags: t.exposeStringList('tags'),
    namePatterns: t.exposeStringList('namePatterns'),
    explicitTargets: t.prismaField({
      type: ['Target'],
      select: { targetIds: true },
      resolve: (query, inv, _a, ctx) => ctx.prisma.target.findMany({ ...query, where: { id: { in: inv.targetIds } }, orderBy: { name: 'asc' } }),
    }),
    targets: t.prismaField({
      type: ['Target'],
      description: 'The targets the inventory selects right now.',
      resolve: (_q, inv, _a, ctx) => ctx.services.inventories.resolve(inv),
    }),
    owner: t.relation('owner', { nullable: true, description: 'Who may change or delete it (and admins); null: admin-managed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const InventoryInput = builder.inputType('InventoryInput', {
  fields: (t) => ({
    name: t.string(),
    description: t.string(),
    tags: t.stringList(),
    namePatterns: t.stringList(),
    targetIds: t.idList(),
  }),
})

function inventoryInput(input: { targetIds?: readonly (string | number)[] | null } & Record<string, unknown>) {
  const out: Record<string, unknown> = withoutNulls(input)
  if (input.targetIds) out.targetIds = decodeIds(input.targetIds.map(String), 'Target', 'input.targetIds')
  return out
}

builder.queryFields((t) => ({
  inventories: t.prismaField({ type: ['Inventory'], resolve: (_q, _r, _a, ctx) => ctx.services.inventories.list(ctx.actor) }),
  inventory: t.prismaField({
    type: 'Inventory',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.inventories.get(ctx.actor, decodeId(String(args.id), 'Inventory', 'id')),
  }),
}))

builder.mutationFields((t) => ({
  createInventory: t.prismaField({
    type: 'Inventory',
    args: { input: t.arg({ type: InventoryInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.inventories.create(ctx.actor, inventoryInput(args.input)),
  }),
  updateInventory: t.prismaField({
    type: 'Inventory',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: InventoryInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.inventories.update(ctx.actor, decodeId(String(args.id), 'Inventory', 'id'), inventoryInput(args.input)),
  }),
  deleteInventory: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.inventories.delete(ctx.actor, decodeId(String(args.id), 'Inventory', 'id'))
      return args.id
    },
  }),
}))
