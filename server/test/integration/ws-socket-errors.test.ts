/**
 * A misbehaving WebSocket peer (a frame over the size limit, a frame no protocol allows, a connection
 * cut mid-handshake) must not make a real server process print anything but its structured log:
 * graphql-ws's own handler wrote "Internal error emitted on a WebSocket socket" with a stack trace.
 */
import net from 'node:net'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../harness/database.ts'
import { spawnWorker, type WorkerProcess } from '../harness/spawn-worker.ts'

let db: TestDatabase
let server: WorkerProcess

beforeAll(async () => {
  db = await createTestDatabase('ws-socket-errors')
  server = await spawnWorker(db.url, 'api', { captureStderr: true, env: { SWITCHYARD_TEST_LOGS: 'debug' } })
})

afterAll(async () => {
  await server?.kill()
  await db?.drop()
})

function wsUrl(): string {
  return `${server.url!.replace(/^http/, 'ws')}/graphql`
}

/** Opens a graphql-ws socket and resolves with the close code once the server closes it. */
function closeCodeAfter(send: (ws: WebSocket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(), 'graphql-transport-ws')
    ws.on('open', () => send(ws))
    ws.on('close', (code) => resolve(code))
    ws.on('error', () => {}) // the close event follows
    setTimeout(() => reject(new Error('the server did not close the socket')), 15_000).unref()
  })
}

describe('WebSocket peers that break the protocol', () => {
  it('are closed with the protocol code, and the process prints only structured log lines', async () => {
    // A frame over SWITCHYARD_WS_MAX_PAYLOAD_BYTES (1 MiB by default): 1009, message too big.
    expect(await closeCodeAfter((ws) => ws.send('x'.repeat(2 * 1024 * 1024)))).toBe(1009)

    // A frame with a reserved opcode (0x3), written raw after a real upgrade: 1002, protocol error.
    const raw = await new Promise<number>((resolve, reject) => {
      const url = new URL(server.url!)
      const socket = net.connect(Number(url.port), url.hostname)
      let upgraded = false
      let buffer = Buffer.alloc(0)
      socket.on('connect', () =>
        socket.write(
          `GET /graphql HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
        ),
      )
      socket.on('data', (chunk) => {
        buffer = Buffer.concat([buffer, chunk])
        if (!upgraded) {
          const end = buffer.indexOf('\r\n\r\n')
          if (end < 0) return
          expect(buffer.subarray(0, end).toString()).toMatch(/^HTTP\/1\.1 101/)
          upgraded = true
          buffer = buffer.subarray(end + 4)
          // FIN + opcode 3 (reserved), masked, empty payload.
          socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4]))
        }
        // The server's close frame: 0x88, length, then the 2-byte code.
        if (upgraded && buffer.length >= 4 && buffer[0] === 0x88) {
          resolve(buffer.readUInt16BE(2))
          socket.destroy()
        }
      })
      socket.on('error', reject)
      setTimeout(() => reject(new Error('no close frame')), 15_000).unref()
    })
    expect(raw).toBe(1002)

    // A peer that vanishes mid-operation (connection reset while subscribed).
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(wsUrl(), 'graphql-transport-ws')
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'connection_init', payload: {} }))
        // Cut it without a close frame.
        setImmediate(() => {
          ;(ws as unknown as { _socket: net.Socket })._socket.resetAndDestroy()
          resolve()
        })
      })
      ws.on('error', () => {})
    })

    // The server is still healthy.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    // Everything the process printed is the structured log, one line per event.
    const printed = server.stderr().split('\n').filter(Boolean)
    const unstructured = printed.filter((l) => !/^\d{4}-\d\d-\d\dT[\d:.]+Z (DEBUG|INFO |WARN |ERROR) \S/.test(l))
    expect(unstructured, printed.join('\n')).toEqual([])
    expect(printed.join('\n')).toMatch(/WebSocket error/)
  })
})
