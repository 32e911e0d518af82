import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { CredentialKindEnum } from './enums.ts'

builder.prismaNode('Credential', {
  id: { field: 'id' },
  description: 'SSH credentials. Secrets (password, private key, passphrase) are write-only: the API never returns them.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    kind: t.expose('kind', { type: CredentialKindEnum }),
    username: t.exposeString('username'),
    hasPassphrase: t.boolean({ select: { passphrase: true }, resolve: (c) => c.passphrase !== null }),
    owner: t.relation('owner'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
})

const CreateCredentialInput = builder.inputType('CreateCredentialInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    kind: t.field({ type: CredentialKindEnum, required: true }),
    username: t.string({ required: true }),
    password: t.string({ description: 'For PASSWORD credentials. Write-only.' }),
    privateKey: t.string({ description: 'For PRIVATE_KEY credentials (OpenSSH/PEM/PPK). Write-only.' }),
    passphrase: t.string({ description: 'For an encrypted private key. Write-only.' }),
  }),
})
const UpdateCredentialInput = builder.inputType('UpdateCredentialInput', {
  description: 'Omitted fields keep their value; secrets are replaced only when given.',
  fields: (t) => ({
    name: t.string(),
    description: t.string(),
    kind: t.field({ type: CredentialKindEnum }),
    username: t.string(),
    password: t.string(),
    privateKey: t.string(),
    passphrase: t.string(),
  }),
})

builder.queryFields((t) => ({
  credentials: t.prismaField({ type: ['Credential'], resolve: (_q, _r, _a, ctx) => ctx.services.credentials.list(ctx.actor) }),
  credential: t.prismaField({
    type: 'Credential',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.credentials.get(ctx.actor, decodeId(String(args.id), 'Credential', 'id')),
  }),
}))

builder.mutationFields((t) => ({
  createCredential: t.prismaField({
    type: 'Credential',
    args: { input: t.arg({ type: CreateCredentialInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.credentials.create(ctx.actor, withoutNulls(args.input)),
  }),
  updateCredential: t.prismaField({
    type: 'Credential',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateCredentialInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.credentials.update(ctx.actor, decodeId(String(args.id), 'Credential', 'id'), withoutNulls(args.input)),
  }),
  deleteCredential: t.id({
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.credentials.delete(ctx.actor, decodeId(String(args.id), 'Credential', 'id'))
      return args.id
    },
  }),
}))
