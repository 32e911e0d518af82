/**
 * One urql client per session: HTTP for queries and mutations (Authorization header), graphql-ws for
 * subscriptions (token in connectionParams).
 *
 * The WebSocket is kept open for the whole session (so the shell's indicator always tells the truth)
 * and comes back by itself: graphql-ws retries every close except the session ones (4401/4403, which
 * sign out) with capped backoff; a close graphql-ws never retries (e.g. 4500 from an older server during
 * a database outage) makes a fresh client after a backoff, and every open subscription is made again on
 * it. After any recovery, the queries on screen run again from the network, so nothing stale stays up.
 */
import { cacheExchange, Client, fetchExchange, makeOperation, mapExchange, subscriptionExchange, type Exchange, type Operation } from '@urql/core'
import { createClient as createWsClient, type Client as WsClient, type ExecutionResult, type SubscribePayload } from 'graphql-ws'
import { pipe, tap } from 'wonka'
import { graphqlHttpUrl, graphqlWsUrl } from './api-url'
import { INITIAL_CONNECTION, isAuthClose, nextConnection, retryDelayMs, type Connection, type ConnectionEvent } from './connection-state'

export interface Sink<T> {
  next(value: ExecutionResult<T>): void
  error(error: unknown): void
  complete(): void
}

export interface SessionClients {
  client: Client
  /** Subscribes over the session's WebSocket, surviving connection losses; returns the unsubscribe. */
  subscribe<T>(payload: SubscribePayload, sink: Sink<T>): () => void
  /** The live connection as the indicator shows it, and a way to watch it. */
  connection(): Connection
  onConnection(fn: () => void): () => void
  dispose(): void
}

/** The close code of a graphql-ws error, when it is a WebSocket close. */
function closeCode(e: unknown): number | undefined {
  return e && typeof e === 'object' && 'code' in e && 'reason' in e && typeof (e as { code: unknown }).code === 'number' ? (e as { code: number }).code : undefined
}

/** Runs the queries on screen again from the network when `onReconnect` fires. */
function refetchOnReconnectExchange(onReconnect: (refetch: () => void) => void): Exchange {
  return ({ client, forward }) => {
    const active = new Map<number, Operation>()
    onReconnect(() => {
      for (const op of active.values()) client.reexecuteOperation(makeOperation(op.kind, op, { ...op.context, requestPolicy: 'network-only' }))
    })
    return (ops$) =>
      forward(
        pipe(
          ops$,
          tap((op) => {
            if (op.kind === 'query') active.set(op.key, op)
            else if (op.kind === 'teardown') active.delete(op.key)
          }),
        ),
      )
  }
}

interface Entry {
  payload: SubscribePayload
  sink: Sink<unknown>
  /** Null while waiting for a new connection. */
  stop: (() => void) | null
}

export function createSessionClients(token: string, onUnauthenticated: () => void): SessionClients {
  let conn: Connection = INITIAL_CONNECTION
  const watchers = new Set<() => void>()
  let refetch = () => {}
  let disposed = false
  const emit = (e: ConnectionEvent) => {
    const next = nextConnection(conn, e)
    const recovered = next.reconnects > conn.reconnects
    conn = next
    watchers.forEach((w) => w())
    if (recovered) refetch()
  }

  const entries = new Set<Entry>()
  let restarts = 0
  let restartTimer: ReturnType<typeof setTimeout> | null = null
  let broken = false
  const makeWs = (): WsClient =>
    createWsClient({
      url: graphqlWsUrl(),
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: false,
      keepAlive: 15_000,
      retryAttempts: Number.POSITIVE_INFINITY,
      // Everything but a refused session is worth retrying (graphql-ws itself gives up on a few codes: see onNonLazyError).
      shouldRetry: (e) => !isAuthClose(closeCode(e)),
      retryWait: (retries) => new Promise((r) => setTimeout(r, retryDelayMs(retries))),
      on: {
        connecting: () => emit({ type: 'connecting' }),
        connected: () => {
          restarts = 0
          emit({ type: 'connected' })
        },
        closed: (event) => {
          const code = closeCode(event)
          if (isAuthClose(code)) onUnauthenticated()
          emit({ type: 'closed', code })
        },
      },
      onNonLazyError: (e) => {
        if (disposed || isAuthClose(closeCode(e))) return
        // graphql-ws will not retry this client: make a new one after a backoff.
        broken = true
        restartTimer = setTimeout(restart, retryDelayMs(restarts++))
      },
    })
  let ws = makeWs()

  const start = (entry: Entry) => {
    entry.stop = ws.subscribe(entry.payload, {
      next: (v) => entry.sink.next(v as ExecutionResult<unknown>),
      complete: () => {
        entries.delete(entry)
        entry.sink.complete()
      },
      error: (err) => {
        const code = closeCode(err)
        if (!disposed && code !== undefined && !isAuthClose(code)) {
          // The connection ended for good: made again on the next client (see restart).
          entry.stop = null
          return
        }
        entries.delete(entry)
        entry.sink.error(err)
      },
    })
  }
  function restart() {
    restartTimer = null
    if (disposed) return
    void ws.dispose()
    broken = false
    ws = makeWs()
    for (const e of entries) if (!e.stop) start(e)
  }

  const subscribe = <T,>(payload: SubscribePayload, sink: Sink<T>) => {
    const entry: Entry = { payload, sink: sink as Sink<unknown>, stop: null }
    entries.add(entry)
    if (!broken) start(entry)
    return () => {
      entries.delete(entry)
      entry.stop?.()
    }
  }

  const client = new Client({
    url: graphqlHttpUrl(),
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    exchanges: [
      mapExchange({
        onError(error) {
          if (error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) onUnauthenticated()
        },
      }),
      refetchOnReconnectExchange((fn) => (refetch = fn)),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' }
          return {
            subscribe(sink) {
              return { unsubscribe: subscribe(input, sink as Sink<unknown>) }
            },
          }
        },
      }),
    ],
  })

  return {
    client,
    subscribe,
    connection: () => conn,
    onConnection(fn) {
      watchers.add(fn)
      return () => watchers.delete(fn)
    },
    dispose() {
      disposed = true
      if (restartTimer) clearTimeout(restartTimer)
      entries.clear()
      void ws.dispose()
    },
  }
}

/** A client without a session, for signing in. */
export function createAnonymousClient(): Client {
  return new Client({ url: graphqlHttpUrl(), exchanges: [fetchExchange], requestPolicy: 'network-only' })
}
