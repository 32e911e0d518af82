import { requireActor } from '../../modules/actor.ts'
import { mayUse } from '../../modules/credentials/credential-access.ts'
import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { withoutNulls } from '../input.ts'
import { CredentialKindEnum, RoleEnum } from './enums.ts'

builder.prismaNode('CredentialUseGrant', {
  id: { field: 'id' },
  description: 'Permission to use a credential, for one user or for every user of a role.',
  fields: (t) => ({
    user: t.relation('user', { nullable: true }),
    role: t.expose('role', { type: RoleEnum, nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
})

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
    canUse: t.boolean({
      description: 'Whether you may use it: name it in a job template or set it on a target (its owner, admins, and those granted use).',
      select: { ownerId: true, useGrants: { select: { userId: true, role: true } } },
      // The grants come with the row when the resolver applied Pothos's selection; else they are loaded here.
      resolve: async (c, _a, ctx) =>
        mayUse(requireActor(ctx.actor), {
          ownerId: c.ownerId,
          useGrants: (c.useGrants as typeof c.useGrants | undefined) ?? (await ctx.prisma.credentialUseGrant.findMany({ where: { credentialId: c.id }, select: { userId: true, role: true } })),
        }),
    }),
    useGrants: t.prismaField({
      type: ['CredentialUseGrant'],
      nullable: true,
      description: 'Who besides its owner and admins may use it. Visible to its owner and admins; null for anyone else.',
      select: { ownerId: true },
      resolve: (_q, c, _a, ctx) => ctx.services.credentials.useGrants(ctx.actor, { id: c.id, ownerId: c.ownerId }),
    }),
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
  credentials: t.prismaField({ type: ['Credential'], resolve: (query, _r, _a, ctx) => ctx.services.credentials.list(ctx.actor, query) }),
  credential: t.prismaField({
    type: 'Credential',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.credentials.get(ctx.actor, decodeId(String(args.id), 'Credential', 'id')),
  }),
}))

function grantee(args: { userId?: string | number | null; username?: string | null; role?: 'ADMIN' | 'OPERATOR' | 'VIEWER' | null }) {
  return { userId: args.userId != null ? decodeId(String(args.userId), 'User', 'userId') : null, username: args.username ?? null, role: args.role ?? null }
}

builder.mutationFields((t) => {
  const grantArgs = {
    credentialId: t.arg.id({ required: true }),
    userId: t.arg.id(),
    username: t.arg.string(),
    role: t.arg({ type: RoleEnum }),
  }
  return {
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
    grantCredentialUse: t.prismaField({
      type: 'Credential',
      description: 'Lets a user (by `userId` or `username`) or every user of a `role` use the credential — give exactly one. For its owner and admins.',
      args: grantArgs,
      resolve: (_q, _r, args, ctx) => ctx.services.credentials.grantUse(ctx.actor, decodeId(String(args.credentialId), 'Credential', 'credentialId'), grantee(args)),
    }),
    revokeCredentialUse: t.prismaField({
      type: 'Credential',
      description: 'Takes back a grant made with grantCredentialUse (the same grantee). Runs of templates that relied on it fail from then on.',
      args: grantArgs,
      resolve: (_q, _r, args, ctx) => ctx.services.credentials.revokeUse(ctx.actor, decodeId(String(args.credentialId), 'Credential', 'credentialId'), grantee(args)),
    }),
    deleteCredential: t.id({
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_r, args, ctx) => {
        await ctx.services.credentials.delete(ctx.actor, decodeId(String(args.id), 'Credential', 'id'))
        return args.id
      },
    }),
  }
})
