/**
 * graphql-yoga over HTTP and graphql-ws over WebSocket on the same port, sharing one envelop
 * pipeline (context, error masking, plugins) as in Yoga's graphql-ws example.
 */
import type http from 'node:http'
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga'
import { GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql'
import type { Context as GraphQLWsContext, SubscribePayload } from 'graphql-ws'
import { useServer } from 'graphql-ws/use/ws'
import { WebSocketServer, type WebSocket } from 'ws'
import { tokenFromHeader } from '../auth/tokens.ts'
import type { ApiLimits, WebSecurity } from '../config.ts'
import { isAllowedOrigin } from '../http/origins.ts'
import { sendSharedPayloads, sharedNextPayload, sharedSubscriptionEvents } from './shared-events.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { Actor } from '../modules/actor.ts'
import type { PgListener } from '../pubsub/pg-listener.ts'
import { shortenEchoes } from '../util/excerpt.ts'
import type { Logger } from '../util/logger.ts'
import type { GraphQLContext, Services } from './context.ts'
import { createMaskError, serviceUnavailable } from './errors.ts'
import { introspectionPolicyPlugin, queryLimitPlugins } from './limits.ts'
import { isTransient } from '../db/transient.ts'
import { coerceError } from '../util/errors.ts'
import { costProblem, DEFAULT_LIST_SIZE } from './operation-cost.ts'
import { schema } from './schema.ts'
import { WsSessions } from './ws-sessions.ts'

export const GRAPHQL_PATH = '/graphql'
/** WebSocket close code 1013 "Try Again Later": graphql-ws clients reconnect after it. */
const TRY_AGAIN_LATER = 1013

type WsExtra = { actor?: Actor | null; token?: string | null }
type WsContext = GraphQLWsContext<Record<string, unknown>, WsExtra>

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

export interface GraphQLServerDeps {
  prisma: PrismaClient
  services: Services
  logger: Logger
  limits: ApiLimits
  web: WebSecurity
  /** Honour X-Forwarded-For for the client address (login throttling): only behind a trusted proxy. */
  trustProxy?: boolean
}

export function createGraphQLServer(deps: GraphQLServerDeps) {
  const { prisma, services, logger, limits, web } = deps
  const trustProxy = deps.trustProxy ?? false
  const maskError = createMaskError(logger)
  // Yoga logs what callers sent (an invalid variable's value, in full): only excerpts reach the log.
  const short = (v: unknown) => shortenEchoes(String(v instanceof Error ? v.message : v))
  // Yoga returns validation errors as they are (no code; an unknown field's name quoted in full).
  const typedValidationErrors: Plugin = {
    onValidate: () => ({ result, setResult }) => {
      if (result.length) setResult(result.map((e: Error) => maskError(e, 'Unexpected error.') as GraphQLError))
    },
  }
  const yoga: YogaServerInstance<ServerContext, GraphQLContext> = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: web.graphiql ? { subscriptionsProtocol: 'WS', title: 'Switchyard GraphQL' } : false,
    maskedErrors: { maskError },
    // Same-origin callers (the web UI) need no CORS headers; other browser origins only when listed.
    cors: (request) => {
      const origin = request.headers.get('origin')
      if (!origin || !web.corsOrigins.includes(origin.toLowerCase())) return false
      // Bearer tokens, not cookies: no credentials mode needed.
      return { origin: [origin], methods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type', 'accept'], credentials: false, maxAge: 600 }
    },
    plugins: [
      ...queryLimitPlugins(limits),
      introspectionPolicyPlugin(web.introspection),
      typedValidationErrors,
      sharedSubscriptionEvents(),
    ],
    logging: {
      debug: (...a) => logger.debug(short(a[0])),
      info: (...a) => logger.info(short(a[0])),
      warn: (...a) => logger.warn(short(a[0])),
      // Yoga reports every error it returns here, expected ones included; genuinely unexpected
      // errors are logged by maskError, so these are only debugging detail.
      error: (...a) => logger.debug(short(a[0])),
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
  /** Signed-in WebSocket connections (their graphql-ws contexts), for the metrics scrape. */
  const wsContexts = new Set<{ subscriptions: Record<string, unknown>; extra: unknown }>()
  /**
   * Open connections, the operations running on them, and the most bytes queued in this process for
   * one socket, counted when asked (a scrape). graphql-ws sends a subscription's next message only when
   * the previous one was handed to the kernel, so a slow reader holds about one message per operation
   * here while its log subscription falls behind and later catches up from the database by seq.
   */
  const wsActivity = () => {
    let operations = 0
    let maxBufferedBytes = 0
    for (const c of wsContexts) {
      operations += Object.keys(c.subscriptions).length
      const socket = (c.extra as { socket?: { bufferedAmount?: number } }).socket
      maxBufferedBytes = Math.max(maxBufferedBytes, socket?.bufferedAmount ?? 0)
    }
    return { connections: wsContexts.size, operations, maxBufferedBytes }
  }

  async function attachWebSocket(server: http.Server, options: { listener?: PgListener | null; sweepMs?: number } = {}): Promise<() => Promise<void>> {
    const sessions = new WsSessions((token) => services.users.authenticate(token), logger)
    await sessions.start(options.listener ?? null, options.sweepMs ?? 30_000)
    const wss = new WebSocketServer({
      server,
      path: GRAPHQL_PATH,
      // ws accepts 100 MiB frames by default, before any authentication: a larger frame closes the
      // socket with 1009 (message too big).
      maxPayload: limits.wsMaxPayloadBytes,
      // A browser page on another origin must not open a socket with the user's token in it.
      verifyClient: (info: { origin?: string; req: http.IncomingMessage }) => isAllowedOrigin(info.origin, info.req.headers.host, web.corsOrigins),
    })
    const disposable = useServer<Record<string, unknown>, WsExtra>(
      {
        connectionInitWaitTimeout: limits.wsConnectionInitTimeoutMs,
        // A log batch shared by many subscribers is serialised once for all of them (shared-events.ts).
        onNext: (_ctx, _id, _payload, _args, result) => sharedNextPayload(result as ExecutionResult) as never,
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
          const socket = (ctx.extra as { socket: WebSocket }).socket
          sessions.add(socket, token!, actor)
          wsContexts.add(ctx)
          socket.once('close', () => {
            sessions.remove(socket)
            wsContexts.delete(ctx)
          })
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
      // ctx.subscriptions already holds this one. Counted before the first await: later subscribe
      // messages add themselves while this one waits, and must not push an earlier one over.
      if (Object.keys(ctx.subscriptions).length > limits.wsMaxSubscriptions) {
        return [new GraphQLError(`at most ${limits.wsMaxSubscriptions} operations at once per connection`, { extensions: { code: 'BAD_USER_INPUT' } })]
      }
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
      // The enveloped parse and validate carry the query limits (tokens while parsing; depth,
      // aliases, directives and cost as validation rules), exactly as over HTTP.
      let document: DocumentNode
      try {
        document = parse(payload.query)
      } catch (e) {
        return [maskError(e, 'Unexpected error.') as GraphQLError]
      }
      const errors: readonly GraphQLError[] = validate(s, document)
      if (errors.length) return errors.map((e) => maskError(e, 'Unexpected error.') as GraphQLError)
      // The cost with the variables (also checked when it executes; here it is refused as an error message, like validation).
      const costly = costProblem(s, document, payload.operationName, payload.variables, { maxCost: limits.maxCost, listSize: DEFAULT_LIST_SIZE })
      if (costly) return [costly]
      return {
        schema: s,
        operationName: payload.operationName,
        document,
        variableValues: payload.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      } satisfies ExecutionArgs
    }
    // graphql-ws prints a socket's errors (an abrupt close: EPIPE, ECONNRESET) to the console with a
    // stack trace. Such errors are the peer going away: replaced by a debug line through our logger.
    // (useServer's 'connection' listener ran first and added its handler; ws throws without one.)
    wss.on('connection', (socket) => {
      sendSharedPayloads(socket as never)
      socket.removeAllListeners('error')
      socket.on('error', (e) => {
        logger.debug('WebSocket error', { error: e.message, code: (e as NodeJS.ErrnoException).code })
        // ws has already started a close handshake for protocol errors (1009 for an oversize frame):
        // let it finish so the client learns why; a broken socket is dropped.
        if (socket.readyState === socket.OPEN) socket.terminate()
      })
    })
    return async () => {
      await sessions.stop()
      await disposable.dispose()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }

  return { yoga, attachWebSocket, wsActivity }
}
