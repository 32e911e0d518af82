/**
 * The benchmark's own LISTEN connection: it sees exactly the NOTIFYs the product sends (run created /
 * claimed / settled on `switchyard_run`, one per log INSERT on `switchyard_log`), stamped on arrival.
 */
import pg from 'pg'
import { track } from './resources.ts'
import { now } from './stats.ts'

export interface Notice {
  channel: string
  payload: string
  /** Arrival time (performance.now()). */
  at: number
}

export interface Listener {
  /** Calls `fn` for every notification on the channel until the listener is closed. */
  on(channel: string, fn: (n: Notice) => void): Promise<void>
  close(): Promise<void>
}

export async function listen(url: string): Promise<Listener> {
  const client = new pg.Client({ connectionString: url, application_name: 'switchyard-bench-listen' })
  await client.connect()
  const handlers = new Map<string, Array<(n: Notice) => void>>()
  client.on('notification', (m) => {
    const at = now()
    for (const fn of handlers.get(m.channel) ?? []) fn({ channel: m.channel, payload: m.payload ?? '', at })
  })
  client.on('error', () => {})
  const close = track('listen connection', () => client.end())
  return {
    async on(channel, fn) {
      let list = handlers.get(channel)
      if (!list) {
        handlers.set(channel, (list = []))
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
      }
      list.push(fn)
    },
    close,
  }
}
