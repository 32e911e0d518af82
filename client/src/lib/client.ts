/**
 * One urql client per session: HTTP for queries and mutations (Authorization header), graphql-ws for
 * subscriptions (token in connectionParams). The WebSocket reconnects forever with capped backoff;
 * subscriptions are resubscribed on reconnect by graphql-ws itself.
 */
import { cacheExchange, Client, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core'
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws'
import { graphqlHttpUrl, graphqlWsUrl } from './api-url'

export type WsState = 'connecting' | 'connected' | 'closed'

export interface SessionClients {
  client: Client
  ws: WsClient
  /** Current WebSocket state and a way to watch it. */
  wsState(): WsState
  onWsState(fn: () => void): () => void
  dispose(): void
}

export function createSessionClients(token: string, onUnauthenticated: () => void): SessionClients {
  let state: WsState = 'closed'
  const watchers = new Set<() => void>()
  const setState = (s: WsState) => {
    state = s
    watchers.forEach((w) => w())
  }
  const ws = createWsClient({
    url: graphqlWsUrl(),
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    lazyCloseTimeout: 3000,
    keepAlive: 15_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** retries, 8000) + Math.random() * 400))
    },
    on: {
      connecting: () => setState('connecting'),
      connected: () => setState('connected'),
      closed: (event) => {
        setState('closed')
        // 4403: the server refused the token (expired or revoked session).
        if ((event as CloseEvent | undefined)?.code === 4403) onUnauthenticated()
      },
    },
  })

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
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' }
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink)
              return { unsubscribe }
            },
          }
        },
      }),
    ],
  })

  return {
    client,
    ws,
    wsState: () => state,
    onWsState(fn) {
      watchers.add(fn)
      return () => watchers.delete(fn)
    },
    dispose() {
      void ws.dispose()
    },
  }
}

/** A client without a session, for signing in. */
export function createAnonymousClient(): Client {
  return new Client({ url: graphqlHttpUrl(), exchanges: [fetchExchange], requestPolicy: 'network-only' })
}
