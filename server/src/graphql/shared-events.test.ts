/**
 * Subscription events marked shared are executed once per operation for every subscriber; unmarked
 * ones once per subscriber, as graphql-js does. Real Yoga and graphql-js, a schema of its own.
 */
import { createSchema, createYoga, Repeater } from 'graphql-yoga'
import { GraphQLError, parse, type ExecutionResult } from 'graphql'
import { describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { markShared } from '../util/shared-event.ts'
import { sendSharedPayloads, sharedNextPayload, sharedSubscriptionEvents, splitSharedMessage } from './shared-events.ts'

function setup() {
  let resolved = 0
  const pushers: Array<(v: { n: number }) => Promise<unknown>> = []
  const stops: Array<() => void> = []
  const yoga = createYoga({
    plugins: [sharedSubscriptionEvents()],
    schema: createSchema({
      typeDefs: `type Query { ok: Boolean } type Event { n: Int! double: Int! } type Subscription { events: Event! }`,
      resolvers: {
        Subscription: {
          events: {
            subscribe: () =>
              new Repeater<{ n: number }>((push, stop) => {
                pushers.push(push)
                stops.push(() => stop())
                return stop
              }),
            resolve: (e: { n: number }) => e,
          },
        },
        Event: {
          double: (e: { n: number }) => {
            resolved++
            return e.n * 2
          },
        },
      },
    }),
  })
  return { yoga, pushers, stops, resolved: () => resolved }
}

async function subscribe(yoga: ReturnType<typeof setup>['yoga'], query: string) {
  const { execute, subscribe: sub, schema, contextFactory } = yoga.getEnveloped({})
  void execute
  const it = (await sub({ schema, document: parse(query), contextValue: await contextFactory() })) as AsyncGenerator<ExecutionResult>
  return it
}

describe('shared subscription events', () => {
  it('executes a marked event once for subscribers of the same operation, an unmarked one per subscriber', async () => {
    const s = setup()
    const query = 'subscription { events { n double } }'
    // The same document object, as Yoga's parser cache hands out for equal query text.
    const { subscribe: sub, schema, contextFactory } = s.yoga.getEnveloped({})
    const document = parse(query)
    const a = (await sub({ schema, document, contextValue: await contextFactory() })) as AsyncGenerator<ExecutionResult>
    const b = (await sub({ schema, document, contextValue: await contextFactory() })) as AsyncGenerator<ExecutionResult>
    const nextA = a.next()
    const nextB = b.next()
    await new Promise((r) => setTimeout(r, 10))
    expect(s.pushers).toHaveLength(2)
    const shared = markShared({ n: 21 })
    for (const p of s.pushers) void p(shared) // (push resolves only when the next value is asked for)
    const [ra, rb] = await Promise.all([nextA, nextB])
    expect(ra.value).toEqual({ data: { events: { n: 21, double: 42 } } })
    expect(rb.value).toBe(ra.value) // one result object for both
    expect(s.resolved()).toBe(1)

    const plainA = a.next()
    const plainB = b.next()
    for (const p of s.pushers) void p({ n: 5 }) // (push resolves only when the next value is asked for)
    const [pa, pb] = await Promise.all([plainA, plainB])
    expect(pa.value).toEqual({ data: { events: { n: 5, double: 10 } } })
    expect(pb.value).toEqual(pa.value)
    expect(pb.value).not.toBe(pa.value)
    expect(s.resolved()).toBe(3)

    // A different operation on the same shared event gets its own execution.
    const c = await subscribe(s.yoga, 'subscription { events { double } }')
    const nextC = c.next()
    const nextA2 = a.next()
    await new Promise((r) => setTimeout(r, 10))
    const again = markShared({ n: 1 })
    for (const p of s.pushers) void p(again) // (push resolves only when the next value is asked for)
    expect((await nextC).value).toEqual({ data: { events: { double: 2 } } })
    expect((await nextA2).value).toEqual({ data: { events: { n: 1, double: 2 } } })
    expect(s.resolved()).toBe(5)

    // return() reaches the source at once (the subscription's resources are released).
    await Promise.all([a.return(undefined), b.return(undefined), c.return(undefined)])
    const ended = await a.next()
    expect(ended.done).toBe(true)
  })
})

describe('shared payloads on the WebSocket', () => {
  it('serialises a shared result once and sends it as one text message equal to the plain JSON', async () => {
    const s = setup()
    const { subscribe: sub, schema, contextFactory } = s.yoga.getEnveloped({})
    const document = parse('subscription { events { n double } }')
    const it = (await sub({ schema, document, contextValue: await contextFactory() })) as AsyncGenerator<ExecutionResult>
    const next = it.next()
    await new Promise((r) => setTimeout(r, 10))
    for (const p of s.pushers) void p(markShared({ n: 7 }))
    const result = (await next).value as ExecutionResult
    // What graphql-ws sends: the payload its onNext hook returns, else a copy of the result without `errors`.
    const message = (id: string) => ({ id, type: 'next', payload: { ...result } })
    const shared = (id: string) => ({ id, type: 'next', payload: sharedNextPayload(result) })
    const plain = JSON.stringify(message('1'))
    const marked = JSON.stringify(shared('1'))
    expect(marked).not.toContain('"double"')
    const split = splitSharedMessage(marked)!
    expect(split.before + split.payload.toString() + split.after).toBe(plain)
    expect(splitSharedMessage(JSON.stringify(shared('2')))!.payload).toBe(split.payload) // one Buffer for all
    // Not shared (never marked, or with errors or extensions): sent as graphql-ws would.
    expect(sharedNextPayload({ data: { events: { n: 1 } } })).toBeUndefined()
    expect(sharedNextPayload({ ...result, extensions: { x: 1 } })).toBeUndefined()
    expect(sharedNextPayload({ ...result, errors: [new GraphQLError('no')] })).toBeUndefined()
    expect(splitSharedMessage(plain)).toBeNull()

    // Over a real socket the three fragments arrive as one text message.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise((r) => wss.once('listening', r))
    wss.on('connection', (socket) => {
      sendSharedPayloads(socket as never)
      socket.send(JSON.stringify(shared('9')), () => socket.send('{"after":true}'))
    })
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`)
    const received: Array<{ text: string; binary: boolean }> = []
    await new Promise<void>((resolve) =>
      client.on('message', (data, binary) => {
        received.push({ text: String(data), binary })
        if (received.length === 2) resolve()
      }),
    )
    expect(received).toEqual([
      { text: JSON.stringify(message('9')), binary: false },
      { text: '{"after":true}', binary: false },
    ])
    client.close()
    await new Promise((r) => wss.close(r))
    await it.return(undefined)
  })
})
