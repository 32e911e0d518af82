/**
 * One LISTEN connection per process, fanned out in memory to every interested subscriber. Listens to
 * a channel only while someone in this process cares about it. If the connection drops it reconnects
 * with backoff and tells `onReconnect` listeners, who must re-read from their cursor: notifications
 * sent while disconnected are lost, the rows are not.
 */
import pg from 'pg'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'

type Handler = (payload: string) => void

export class PgListener {
  readonly #url: string
  readonly #logger: Logger
  readonly #handlers = new Map<string, Set<Handler>>()
  readonly #reconnectHandlers = new Set<() => void>()
  #client: pg.Client | null = null
  #connecting: Promise<void> | null = null
  #stopped = false
  #retryTimer: NodeJS.Timeout | null = null

  constructor(url: string, logger: Logger) {
    this.#url = url
    this.#logger = logger
  }

  async start(): Promise<void> {
    await this.#connect()
  }

  /** Subscribes to a channel; the returned function unsubscribes. Resolves once LISTEN is active. */
  async on(channel: string, handler: Handler): Promise<() => Promise<void>> {
    let set = this.#handlers.get(channel)
    const first = !set
    if (!set) this.#handlers.set(channel, (set = new Set()))
    set.add(handler)
    if (first) await this.#query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    return async () => {
      const current = this.#handlers.get(channel)
      if (!current?.delete(handler) || current.size) return
      this.#handlers.delete(channel)
      await this.#query(`UNLISTEN ${pg.escapeIdentifier(channel)}`)
    }
  }

  onReconnect(handler: () => void): () => void {
    this.#reconnectHandlers.add(handler)
    return () => this.#reconnectHandlers.delete(handler)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    const c = this.#client
    this.#client = null
    await c?.end().catch(() => {})
  }

  async #query(sql: string): Promise<void> {
    if (this.#connecting) await this.#connecting
    // While disconnected the LISTEN is issued on reconnect for every channel with handlers.
    await this.#client?.query(sql).catch((e) => this.#logger.warn('listen query failed', { sql, error: coerceError(e).message }))
  }

  #connect(attempt = 0): Promise<void> {
    this.#connecting = (async () => {
      const client = new pg.Client({ connectionString: this.#url, application_name: 'switchyard-listen', keepAlive: true })
      client.on('notification', (msg) => {
        const handlers = this.#handlers.get(msg.channel)
        if (!handlers) return
        for (const h of handlers) {
          try {
            h(msg.payload ?? '')
          } catch (e) {
            this.#logger.error('notification handler failed', { channel: msg.channel, error: coerceError(e).message })
          }
        }
      })
      client.on('error', (e) => this.#lost(client, e))
      client.on('end', () => this.#lost(client, new Error('connection ended')))
      await client.connect()
      for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      this.#client = client
    })()
    return this.#connecting
      .catch((e) => {
        if (this.#stopped) return
        if (attempt === 0 && !this.#client) throw e // first connection failure is a start-up error
        this.#scheduleReconnect(attempt + 1, e)
      })
      .finally(() => {
        this.#connecting = null
      })
  }

  #lost(client: pg.Client, e: unknown): void {
    if (this.#client !== client || this.#stopped) return
    this.#client = null
    client.end().catch(() => {})
    this.#scheduleReconnect(1, e)
  }

  #scheduleReconnect(attempt: number, e: unknown): void {
    if (this.#stopped) return
    const delay = Math.min(5000, 100 * 2 ** attempt)
    this.#logger.warn('listen connection lost; reconnecting', { attempt, delayMs: delay, error: coerceError(e).message })
    this.#retryTimer = setTimeout(() => {
      void this.#connect(attempt).then(() => {
        if (this.#client) for (const h of this.#reconnectHandlers) h()
      })
    }, delay)
  }
}
