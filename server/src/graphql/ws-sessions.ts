/**
 * The open WebSocket connections of this API process and who they authenticated as. graphql-ws checks
 * the token when a connection opens and on each subscribe, but a subscription then streams for as long
 * as it likes: when a token is revoked, a user disabled or their role changed (a NOTIFY on
 * `switchyard_auth` from any process), or a token expires (a periodic sweep), the affected connections
 * are re-checked and closed.
 *
 * Close codes: 4401 (Unauthorized) when the token no longer authenticates — graphql-ws clients treat
 * it as fatal and do not reconnect with the dead token; 4403 (Forbidden) when the token still works but
 * the user's role changed — clients retry that one, and the new connection gets the new permissions.
 */
import type { Actor } from '../modules/actor.ts'
import type { PgListener } from '../pubsub/pg-listener.ts'
import { CHANNELS } from '../pubsub/channels.ts'
import type { Logger } from '../util/logger.ts'
import { coerceError } from '../util/errors.ts'

export interface ClosableSocket {
  close(code: number, reason: string): void
}

interface Session {
  token: string
  actor: Actor
}

export const CLOSE_UNAUTHORIZED = 4401
export const CLOSE_FORBIDDEN = 4403

export class WsSessions {
  readonly #sessions = new Map<ClosableSocket, Session>()
  #timer: NodeJS.Timeout | null = null
  #unlisten: (() => Promise<void>) | null = null

  constructor(
    private readonly authenticate: (token: string) => Promise<Actor | null>,
    private readonly logger: Logger,
  ) {}

  /** Listens for sign-in changes from every process and sweeps every `sweepMs` (token expiry). */
  async start(listener: PgListener | null, sweepMs: number): Promise<void> {
    if (listener) this.#unlisten = await listener.on(CHANNELS.auth, (userId) => void this.recheck((s) => s.actor.userId === userId))
    this.#timer = setInterval(() => void this.recheck(() => true), sweepMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    await this.#unlisten?.()
  }

  add(socket: ClosableSocket, token: string, actor: Actor): void {
    this.#sessions.set(socket, { token, actor })
  }

  remove(socket: ClosableSocket): void {
    this.#sessions.delete(socket)
  }

  /** Re-authenticates the matching connections; closes those whose token or role no longer holds. */
  async recheck(which: (s: Session) => boolean): Promise<void> {
    const checks = [...this.#sessions].filter(([, s]) => which(s))
    await Promise.all(
      checks.map(async ([socket, s]) => {
        let now: Actor | null
        try {
          now = await this.authenticate(s.token)
        } catch (e) {
          // The database is unreachable: keep the connection (the next sweep or notification retries).
          this.logger.warn('could not re-check a WebSocket session', { error: coerceError(e).message })
          return
        }
        if (!this.#sessions.has(socket)) return
        if (!now) {
          this.#sessions.delete(socket)
          socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized: the session was revoked or expired, or the user disabled')
        } else if (now.role !== s.actor.role) {
          this.#sessions.delete(socket)
          socket.close(CLOSE_FORBIDDEN, 'Forbidden: your role changed; reconnect')
        }
      }),
    )
  }
}
