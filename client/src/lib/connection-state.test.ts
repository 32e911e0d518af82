import { expect, it } from 'vitest'
import { connectionLabel, INITIAL_CONNECTION, isAuthClose, nextConnection, type Connection, type ConnectionEvent } from './connection-state'

const run = (events: ConnectionEvent[], from: Connection = INITIAL_CONNECTION) => events.reduce(nextConnection, from)

it('is connecting, then live', () => {
  expect(run([{ type: 'connecting' }]).state).toBe('connecting')
  expect(run([{ type: 'connecting' }, { type: 'connected' }])).toMatchObject({ state: 'live', reconnects: 0 })
})

it('reconnects after a drop; says disconnected once a retry failed too; counts the recovery', () => {
  const live = run([{ type: 'connecting' }, { type: 'connected' }])
  const dropped = run([{ type: 'closed', code: 1006 }, { type: 'connecting' }], live)
  expect(dropped.state).toBe('reconnecting')
  const down = run([{ type: 'closed', code: 1006 }, { type: 'connecting' }], dropped)
  expect(down.state).toBe('disconnected')
  expect(connectionLabel(down.state)).toBe('Disconnected — changes are not shown')
  const back = run([{ type: 'connected' }], down)
  expect(back).toMatchObject({ state: 'live', reconnects: 1, failures: 0 })
})

it('treats a close the server sends during an outage (4500) like any other loss', () => {
  const live = run([{ type: 'connecting' }, { type: 'connected' }])
  expect(run([{ type: 'closed', code: 4500 }], live).state).toBe('reconnecting')
})

it('counts a server that was down from the start as a reconnect when it comes up', () => {
  const s = run([{ type: 'connecting' }, { type: 'closed', code: 1006 }, { type: 'connecting' }, { type: 'closed', code: 1006 }])
  expect(s.state).toBe('disconnected')
  expect(run([{ type: 'connected' }], s).reconnects).toBe(1)
})

it('knows the session close codes', () => {
  expect(isAuthClose(4401)).toBe(true)
  expect(isAuthClose(4403)).toBe(true)
  expect(isAuthClose(4500)).toBe(false)
  expect(isAuthClose(1006)).toBe(false)
})
