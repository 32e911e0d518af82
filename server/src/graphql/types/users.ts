import type { ApiToken, User } from '../../generated/prisma/client.ts'
import { canManageApiTokensOf, requireActor } from '../../modules/actor.ts'
import { builder } from '../builder.ts'
import { decodeId } from '../ids.ts'
import { RoleEnum } from './enums.ts'

export const UserRef = builder.prismaNode('User', {
  id: { field: 'id' },
  fields: (t) => ({
    username: t.exposeString('username'),
    role: t.expose('role', { type: RoleEnum }),
    disabled: t.exposeBoolean('disabled'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    apiTokens: t.prismaField({
      type: ['ApiToken'],
      nullable: true,
      description:
        "This user's API tokens (not their sessions), newest first, revoked and expired ones included; never the token itself. Visible to the user themselves and to admins (to find and revoke a leaked token with `revokeApiToken` without disabling the user); null for anyone else, like other things you may not see.",
      resolve: (_q, user, _a, ctx) => {
        const actor = requireActor(ctx.actor)
        return canManageApiTokensOf(actor, user.id) ? ctx.services.users.listApiTokens(actor, user.id) : null
      },
    }),
  }),
})

export const ApiTokenRef = builder.prismaNode('ApiToken', {
  id: { field: 'id' },
  description: 'An API token. The token itself is shown only once, when it is created.',
  fields: (t) => ({
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the token, to recognise it.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
})

const LoginPayloadWithUser = builder.objectRef<{ token: string; expiresAt: Date; user: User }>('LoginResult').implement({
  fields: (t) => ({
    token: t.exposeString('token'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
  }),
})

const CreatedApiToken = builder.objectRef<{ token: string; apiToken: ApiToken }>('CreatedApiToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Shown once; store it now.' }),
    apiToken: t.field({ type: ApiTokenRef, resolve: (p) => p.apiToken }),
  }),
})

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    username: t.string({ required: true }),
    password: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
  }),
})
const UpdateUserInput = builder.inputType('UpdateUserInput', {
  fields: (t) => ({
    password: t.string(),
    role: t.field({ type: RoleEnum }),
    disabled: t.boolean(),
  }),
})
const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({ name: t.string({ required: true }), expiresInDays: t.int() }),
})

builder.queryFields((t) => ({
  me: t.prismaField({ type: 'User', description: 'The signed-in user.', resolve: (_q, _r, _a, ctx) => ctx.services.users.me(ctx.actor) }),
  users: t.prismaField({ type: ['User'], description: 'All users (admins only).', resolve: (_q, _r, _a, ctx) => ctx.services.users.list(ctx.actor) }),
  apiTokens: t.prismaField({ type: ['ApiToken'], description: "Your own API tokens, newest first. Admins see another user's with `users { apiTokens }` (`User.apiTokens`).", resolve: (_q, _r, _a, ctx) => ctx.services.users.listApiTokens(ctx.actor) }),
}))

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginPayloadWithUser,
    args: { username: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.users.login(args, ctx.clientAddress),
  }),
  logout: t.boolean({
    resolve: async (_r, _a, ctx) => {
      // A missing, unknown, expired or already revoked token is UNAUTHENTICATED like everywhere else
      // (it used to answer `true`, hiding from clients that they were not signed in at all).
      await ctx.services.users.logout(ctx.actor, ctx.token)
      return true
    },
  }),
  changePassword: t.boolean({
    description: 'Changes your password; your other sessions end, the one making the change stays signed in.',
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      await ctx.services.users.changeOwnPassword(ctx.actor, args.currentPassword, args.newPassword, ctx.token)
      return true
    },
  }),
  createUser: t.prismaField({
    type: 'User',
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.users.create(ctx.actor, args.input),
  }),
  updateUser: t.prismaField({
    type: 'User',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.users.update(ctx.actor, decodeId(String(args.id), 'User', 'id'), args.input),
  }),
  createApiToken: t.field({
    type: CreatedApiToken,
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.users.createApiToken(ctx.actor, args.input),
  }),
  revokeApiToken: t.prismaField({
    type: 'ApiToken',
    description:
      "Revokes an API token at once: your own, or (admins) any user's. Another user's token is NOT_FOUND for non-admins. Revoking a revoked token changes nothing. Audited as `token.revoke`; when an admin revokes someone else's token the event's entity name also names the owner (`ci (owner: bob)`).",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_q, _r, args, ctx) => ctx.services.users.revokeApiToken(ctx.actor, decodeId(String(args.id), 'ApiToken', 'id')),
  }),
}))
