/**
 * graphql-yoga over HTTP and graphql-ws over WebSocket on the same port, sharing one envelop
 * pipeline (context, error masking, plugins) as in Yoga's graphql-ws example.
 */
import type http from 'node:http'
import { createYoga, type YogaServerInstance } from 'graphql-yoga'
import { GraphQLError, type ExecutionArgs } from 'graphql'
import { useServer } from 'graphql-ws/use/ws'
import { WebSocketServer, type WebSocket } from 'ws'
import { tokenFromHeader } from '../auth/tokens.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Actor } from '../modules/actor.ts'
import type { PgListener } from '../pubsub/pg-listener.ts'
import type { Logger } from '../util/logger.ts'
import type { GraphQLContext, Services } from './context.ts'
import { createMaskError } from './errors.ts'
import { schema } from './schema.ts'
import { WsSessions } from './ws-sessions.ts'

export const GRAPHQL_PATH = '/graphql'

interface ServerContext {
  /** Set for WebSocket operations: authenticated once, when the connection opened. */
  wsActor?: Actor | null
  wsToken?: string | null
  /** The Node request (HTTP, or the WebSocket upgrade): where the client address comes from. */
  req?: http.IncomingMessage
}

/**
 * The client's address: the socket's peer, or — only when the operator says a proxy in front sets it
 * (`SWITCHYARD_TRUST_PROXY`) — the last X-Forwarded-For entry, the one that proxy appended. Anyone can
 * send the header, so it is ignored otherwise (it would let a client pick its own throttling key).
 */
export function clientAddressOf(req: http.IncomingMessage | undefined, trustProxy: boolean): string | null {
  if (!req) return null
  const forwarded = req.headers['x-forwarded-for']
  const header = Array.isArray(forwarded) ? forwarded.join(',') : forwarded
  const fromProxy = trustProxy && header ? header.split(',').map((s) => s.trim()).filter(Boolean).at(-1) : undefined
  const address = fromProxy ?? req.socket?.remoteAddress ?? null
  return address?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') ?? null
}

export function createGraphQLServer(deps: { prisma: PrismaClient; services: Services; logger: Logger; trustProxy?: boolean }) {
  const { prisma, services, logger } = deps
  const trustProxy = deps.trustProxy ?? false
  const yoga: YogaServerInstance<ServerContext, GraphQLContext> = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: { subscriptionsProtocol: 'WS', title: 'Switchyard GraphQL' },
    maskedErrors: { maskError: createMaskError(logger) },
    logging: {
      debug: (...a) => logger.debug(String(a[0])),
      info: (...a) => logger.info(String(a[0])),
      warn: (...a) => logger.warn(String(a[0])),
      // Yoga reports every error it returns here, expected ones included; genuinely unexpected
      // errors are logged by maskError, so these are only debugging detail.
      error: (...a) => logger.debug(String(a[0] instanceof Error ? a[0].message : a[0])),
    },
    context: async ({ request, wsActor, wsToken, req }): Promise<GraphQLContext> => {
      const clientAddress = clientAddressOf(req, trustProxy)
      if (wsActor !== undefined) return { actor: wsActor, token: wsToken ?? null, clientAddress, prisma, services }
      const token = tokenFromHeader(request.headers.get('authorization'))
      const actor = token ? await services.users.authenticate(token) : null
      return { actor, token, clientAddress, prisma, services }
    },
  })

  /**
   * Attaches graphql-ws to an HTTP server; returns a function that closes every socket. With a
   * listener, connections whose token is revoked or whose user is disabled are closed within moments
   * (ws-sessions.ts); every `sweepMs` all are re-checked (expired tokens).
   */
  async function attachWebSocket(server: http.Server, options: { listener?: PgListener | null; sweepMs?: number } = {}): Promise<() => Promise<void>> {
    const sessions = new WsSessions((token) => services.users.authenticate(token), logger)
    await sessions.start(options.listener ?? null, options.sweepMs ?? 30_000)
    const wss = new WebSocketServer({ server, path: GRAPHQL_PATH })
    const disposable = useServer<Record<string, unknown>, { actor?: Actor | null; token?: string | null }>(
      {
        execute: (args: ExecutionArgs) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
        subscribe: (args: ExecutionArgs) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
        // Authenticate once per connection: `connectionParams: { authorization: 'Bearer <token>' }`.
        onConnect: async (ctx) => {
          const params = ctx.connectionParams ?? {}
          const token = tokenFromHeader(params.authorization ?? params.Authorization ?? params.token)
          const actor = token ? await services.users.authenticate(token) : null
          if (!actor) return false // graphql-ws closes with 4403 Forbidden
          ctx.extra.actor = actor
          ctx.extra.token = token
          const socket = (ctx.extra as { socket: WebSocket }).socket
          sessions.add(socket, token!, actor)
          socket.once('close', () => sessions.remove(socket))
          return true
        },
        onSubscribe: async (ctx, _id, payload) => {
          // Re-check the token per operation: a socket opened before a logout, revocation or
          // disabling must not keep working (one indexed lookup per subscribe).
          const actor = ctx.extra.token ? await services.users.authenticate(ctx.extra.token) : null
          if (!actor) return [new GraphQLError('session expired or revoked: reconnect with a valid token', { extensions: { code: 'UNAUTHENTICATED' } })]
          ctx.extra.actor = actor
          const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            ...ctx,
            req: (ctx.extra as { request?: unknown }).request,
            socket: (ctx.extra as { socket?: unknown }).socket,
            params: payload,
            wsActor: ctx.extra.actor ?? null,
            wsToken: ctx.extra.token ?? null,
          })
          const args: ExecutionArgs = {
            schema: s,
            operationName: payload.operationName,
            document: parse(payload.query),
            variableValues: payload.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe },
          }
          const errors = validate(args.schema, args.document)
          if (errors.length) return errors
          return args
        },
      },
      wss,
    )
    return async () => {
      await sessions.stop()
      await disposable.dispose()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }

  return { yoga, attachWebSocket }
}
