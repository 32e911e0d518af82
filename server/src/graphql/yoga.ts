/**
 * graphql-yoga over HTTP and graphql-ws over WebSocket on the same port, sharing one envelop
 * pipeline (context, error masking, plugins) as in Yoga's graphql-ws example.
 */
import type http from 'node:http'
import { createYoga, type YogaServerInstance } from 'graphql-yoga'
import { GraphQLError, type ExecutionArgs } from 'graphql'
import type { Context as GraphQLWsContext, SubscribePayload } from 'graphql-ws'
import { useServer } from 'graphql-ws/use/ws'
import { WebSocketServer } from 'ws'
import { tokenFromHeader } from '../auth/tokens.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Actor } from '../modules/actor.ts'
import type { Logger } from '../util/logger.ts'
import type { GraphQLContext, Services } from './context.ts'
import { createMaskError, serviceUnavailable } from './errors.ts'
import { isTransient } from '../db/transient.ts'
import { coerceError } from '../util/errors.ts'
import { schema } from './schema.ts'

export const GRAPHQL_PATH = '/graphql'
/** WebSocket close code 1013 "Try Again Later": graphql-ws clients reconnect after it. */
const TRY_AGAIN_LATER = 1013

type WsExtra = { actor?: Actor | null; token?: string | null }
type WsContext = GraphQLWsContext<Record<string, unknown>, WsExtra>

interface ServerContext {
  /** Set for WebSocket operations: authenticated once, when the connection opened. */
  wsActor?: Actor | null
  wsToken?: string | null
}

export function createGraphQLServer(deps: { prisma: PrismaClient; services: Services; logger: Logger }) {
  const { prisma, services, logger } = deps
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
    context: async ({ request, wsActor, wsToken }): Promise<GraphQLContext> => {
      if (wsActor !== undefined) return { actor: wsActor, token: wsToken ?? null, prisma, services }
      const token = tokenFromHeader(request.headers.get('authorization'))
      const actor = token ? await services.users.authenticate(token) : null
      return { actor, token, prisma, services }
    },
  })

  /** Attaches graphql-ws to an HTTP server; returns a function that closes every socket. */
  function attachWebSocket(server: http.Server): () => Promise<void> {
    const wss = new WebSocketServer({ server, path: GRAPHQL_PATH })
    const disposable = useServer<Record<string, unknown>, WsExtra>(
      {
        execute: (args: ExecutionArgs) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
        subscribe: (args: ExecutionArgs) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
        // Authenticate once per connection: `connectionParams: { authorization: 'Bearer <token>' }`.
        onConnect: async (ctx) => {
          const params = ctx.connectionParams ?? {}
          const token = tokenFromHeader(params.authorization ?? params.Authorization ?? params.token)
          let actor: Actor | null
          try {
            actor = token ? await services.users.authenticate(token) : null
          } catch (e) {
            // A throw here would close with 4500, which graphql-ws clients never retry: a database
            // outage would leave every console without live updates until reloaded. 1013 "try again
            // later" is retried; anything else is closed 4500 as before, but logged once, by us.
            const socket = (ctx.extra as { socket?: { close(code: number, reason: string): void } }).socket
            const transient = isTransient(e)
            logger[transient ? 'warn' : 'error']('WebSocket connection refused', { error: coerceError(e).message })
            socket?.close(transient ? TRY_AGAIN_LATER : 4500, transient ? 'database temporarily unavailable' : 'Internal server error')
            return false // (the socket is already closing: graphql-ws's own 4403 is not sent)
          }
          if (!actor) return false // graphql-ws closes with 4403 Forbidden
          ctx.extra.actor = actor
          ctx.extra.token = token
          return true
        },
        // Nothing may throw out of here: graphql-ws would print the error itself and close the whole
        // socket with 4500 (which clients do not retry). The operation fails instead, the socket stays.
        onSubscribe: (ctx, id, payload) =>
          prepareOperation(ctx, id, payload).catch((e: unknown) => {
            if (isTransient(e)) {
              logger.warn('database unavailable', { operation: 'subscribe', error: coerceError(e).message })
              return [serviceUnavailable()]
            }
            logger.error('unexpected error starting a subscription', { error: coerceError(e).message })
            return [new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })]
          }),
      },
      wss,
    )
    /** Authorises one operation and runs it through Yoga's envelop (parse, validate, context). */
    async function prepareOperation(ctx: WsContext, _id: string, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> {
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
    }
    // graphql-ws prints a socket's errors (an abrupt close: EPIPE, ECONNRESET) to the console with a
    // stack trace. Such errors are the peer going away: replaced by a debug line through our logger.
    // (useServer's 'connection' listener ran first and added its handler; ws throws without one.)
    wss.on('connection', (socket) => {
      socket.removeAllListeners('error')
      socket.on('error', (e) => {
        logger.debug('WebSocket error', { error: e.message, code: (e as NodeJS.ErrnoException).code })
        socket.terminate()
      })
    })
    return async () => {
      await disposable.dispose()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }

  return { yoga, attachWebSocket }
}
