/**
 * One LISTEN connection per process, fanned out in memory to every interested subscriber. Listens to
 * a channel only while someone in this process cares about it. If the connection drops it reconnects
 * with backoff and tells `onReconnect` listeners, who must re-read from their cursor: notifications
 * sent while disconnected are lost, the rows are not.
 *
 * A connection can also die silently (a network partition, a half-open TCP connection): nothing
 * arrives and nothing fails. A periodic ping with a deadline finds that out and reconnects, so a
 * cancel request or a log notification is never lost for longer than one ping interval.
 */
import pg from 'pg'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'

type Handler = (payload: string) => void

export interface PgListenerOptions {
  /** How often the connection proves it is alive. */
  pingIntervalMs?: number
  /** A ping (or LISTEN) unanswered for this long means the connection is dead. */
  pingTimeoutMs?: number
}

export class PgListener {
  readonly #url: string
  readonly #logger: Logger
  readonly #handlers = new Map<string, Set<Handler>>()
  /** Per channel, the LISTEN in flight or done: a second subscriber waits for it like the first. */
  readonly #listening = new Map<string, Promise<void>>()
  readonly #reconnectHandlers = new Set<() => void>()
  readonly #pingIntervalMs: number
  readonly #pingTimeoutMs: number
  #client: pg.Client | null = null
  #connecting: Promise<void> | null = null
  #stopped = false
  #retryTimer: NodeJS.Timeout | null = null
  #pingTimer: NodeJS.Timeout | null = null
  /**
   * The last statement handed to the current connection. Subscribers arrive concurrently (a page opens
   * several live feeds at once) and the ping fires whenever: each statement waits for the one before,
   * because pg@9 refuses a query on a client that is still executing one (pg@8 queues it and warns).
   */
  #tail: Promise<unknown> = Promise.resolve()

  constructor(url: string, logger: Logger, options: PgListenerOptions = {}) {
    this.#url = url
    this.#logger = logger
    this.#pingIntervalMs = options.pingIntervalMs ?? 30_000
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 10_000
  }

  async start(): Promise<void> {
    await this.#connect()
    this.#pingTimer = setInterval(() => this.#ping(), this.#pingIntervalMs)
    this.#pingTimer.unref()
  }

  /** Subscribes to a channel; the returned function unsubscribes. Resolves once LISTEN is active. */
  async on(channel: string, handler: Handler): Promise<() => Promise<void>> {
    let set = this.#handlers.get(channel)
    if (!set) {
      this.#handlers.set(channel, (set = new Set()))
      this.#listening.set(channel, this.#query(`LISTEN ${pg.escapeIdentifier(channel)}`))
    }
    set.add(handler)
    await this.#listening.get(channel)
    let off = false
    return async () => {
      if (off) return
      off = true
      const current = this.#handlers.get(channel)
      if (!current?.delete(handler) || current.size) return
      this.#handlers.delete(channel)
      this.#listening.delete(channel)
      await this.#query(`UNLISTEN ${pg.escapeIdentifier(channel)}`)
    }
  }

  /** Whether the LISTEN connection is up now (false while it reconnects, and after stop()). */
  get connected(): boolean {
    return this.#client !== null && !this.#stopped
  }

  onReconnect(handler: () => void): () => void {
    this.#reconnectHandlers.add(handler)
    return () => this.#reconnectHandlers.delete(handler)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    if (this.#pingTimer) clearInterval(this.#pingTimer)
    // A connection still being set up ends itself once it sees #stopped.
    const c = this.#client
    this.#client = null
    await c?.end().catch(() => {})
  }

  async #query(sql: string): Promise<void> {
    if (this.#connecting) await this.#connecting.catch(() => {})
    // While disconnected the LISTEN is issued on reconnect for every channel with handlers.
    const client = this.#client
    if (!client) return
    await this.#inTurn(client, sql).catch((e) => this.#logger.warn('listen query failed', { sql, error: coerceError(e).message }))
  }

  /** Runs `sql` on `client` after the statements queued before it (see #tail). */
  #inTurn(client: pg.Client, sql: string): Promise<unknown> {
    const run = () => client.query(sql)
    const result = this.#tail.then(run, run)
    this.#tail = result.catch(() => {})
    return result
  }

  #ping(): void {
    const client = this.#client
    if (!client || this.#connecting) return
    let answered = false
    const deadline = setTimeout(() => {
      if (!answered) this.#lost(client, new Error(`no answer to a ping within ${this.#pingTimeoutMs} ms`))
    }, this.#pingTimeoutMs)
    deadline.unref()
    // Queued behind a LISTEN in flight: one that hangs as long as the deadline means a dead connection too.
    this.#inTurn(client, 'SELECT 1')
      .catch(() => {}) // a failed connection reports itself through 'error'/'end'
      .finally(() => {
        answered = true
        clearTimeout(deadline)
      })
  }

  #connect(attempt = 0): Promise<void> {
    this.#connecting = (async () => {
      const client = new pg.Client({ connectionString: this.#url, application_name: 'switchyard-listen', keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: this.#pingTimeoutMs })
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
      try {
        await client.connect()
        for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      } catch (e) {
        // Never leave a half-set-up connection behind (it would hold a backend and keep the process alive).
        void client.end().catch(() => {})
        throw e
      }
      if (this.#stopped) {
        void client.end().catch(() => {})
        return
      }
      // A fresh connection owes nothing to the old one's queue (whose statements failed with it).
      this.#tail = Promise.resolve()
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
    void client.end().catch(() => {})
    // end() waits for the server, which a dead connection never answers: drop the socket too.
    setImmediate(() => (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy())
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
