/**
 * One execution per subscription event shared by many subscribers. graphql-js executes the operation
 * for every event of every subscription; when 1,000 consoles follow one run's log, each log batch was
 * executed (every line's fields resolved and serialised) 1,000 times. An event object marked with
 * `markShared` (util/shared-event.ts) promises that what it resolves to does not depend on who asked (no field under it reads
 * the context): its result is computed once per operation document, variables and operation name, and
 * handed to every subscription with that same operation (Yoga's parser cache gives equal query text the
 * same document). Unmarked events execute per subscription, as before.
 */
import { randomBytes } from 'node:crypto'
import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql'
import type { Plugin } from 'graphql-yoga'
import { isShared } from '../util/shared-event.ts'

const documentIds = new WeakMap<DocumentNode, number>()
let nextDocumentId = 1
/** Per shared event: results by operation key. Weak: dropped with the event. */
const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>()

function operationKey(args: ExecutionArgs): string {
  let id = documentIds.get(args.document)
  if (id === undefined) documentIds.set(args.document, (id = nextDocumentId++))
  return `${id}|${args.operationName ?? ''}|${JSON.stringify(args.variableValues ?? {})}`
}

async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args)
  if (!(Symbol.asyncIterator in stream)) return stream
  const key = operationKey(args)
  const run = (event: unknown) => execute({ ...args, rootValue: event }) as ExecutionResult | Promise<ExecutionResult>
  return mapEvents(stream, (event) => {
    if (!isShared(event)) return run(event)
    let byOperation = results.get(event)
    if (!byOperation) results.set(event, (byOperation = new Map()))
    let result = byOperation.get(key)
    if (!result) {
      const r = run(event)
      result = r instanceof Promise ? r.then(rememberShared) : rememberShared(r)
      byOperation.set(key, result)
    }
    return result
  })
}

/** Like graphql-js's mapAsyncIterator: `return()` reaches the source at once, even while it waits. */
function mapEvents<T, U>(source: AsyncGenerator<T> | AsyncIterable<T>, fn: (t: T) => U | Promise<U>): AsyncGenerator<U> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<T>
  const map = async (r: IteratorResult<T>): Promise<IteratorResult<U>> => (r.done ? { value: r.value as unknown as U, done: true } : { value: await fn(r.value), done: false })
  const gen: AsyncGenerator<U> = {
    next: () => it.next().then(map),
    return: async () => (typeof it.return === 'function' ? map(await it.return()) : { value: undefined as unknown as U, done: true }),
    throw: async (e: unknown) => {
      if (typeof it.throw === 'function') return map(await it.throw(e))
      throw e
    },
    [Symbol.asyncIterator]() {
      return gen
    },
    [Symbol.asyncDispose]: async () => {
      await gen.return(undefined as unknown as U)
    },
  }
  return gen
}

/** Envelop plugin: subscriptions execute marked events once per operation (see above). */
export function sharedSubscriptionEvents(): Plugin {
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(sharedSubscribe as never)
    },
  }
}

/*
 * One serialisation per shared result, too. graphql-ws turns each result into the text of a `next`
 * message with JSON.stringify, per subscriber: for a log batch of 2,000 lines, 1,000 subscribers meant
 * 1,000 stringifications of the same 160 kB. For a shared result, graphql-ws's `onNext` hook (the
 * WebSocket path only) gets `sharedNextPayload` below: a payload whose JSON is a marker; the socket's send
 * (see `sendSharedPayloads`) finds the marker and sends the message as three fragments of one WebSocket
 * message — the text before the payload, the payload serialised once for everyone (one Buffer, written
 * to every socket without copying), and the rest. The client receives one ordinary text message. The
 * marker carries a random per-process nonce, so no text from elsewhere can pose as one. (Not a
 * `jsonMessageReplacer`: JSON.stringify calls a replacer for every key and value of every message, every
 * field of every log line of a subscriber's own reads included — ~0.15 µs each, most of a log reader's cost.)
 */
const NONCE = randomBytes(8).toString('hex')
const MARK = `\u0001switchyard-shared-${NONCE}:`
/** The marker as it appears inside the JSON text: quoted, the control character escaped. */
const MARK_JSON = JSON.stringify(MARK).slice(0, -1)
let nextResultId = 1
/** Keyed by the result's `data`: graphql-ws sends a copy of the result without `errors`, same `data`. */
const dataIds = new WeakMap<object, number>()
const dataById = new Map<number, WeakRef<object>>()
const forget = new FinalizationRegistry<number>((id) => dataById.delete(id))
const serialised = new WeakMap<object, Buffer>()

function rememberShared(result: ExecutionResult): ExecutionResult {
  const data = result.data
  if (result.errors?.length || typeof data !== 'object' || data === null || dataIds.has(data)) return result
  const id = nextResultId++
  dataIds.set(data, id)
  dataById.set(id, new WeakRef(data))
  forget.register(data, id)
  return result
}

/**
 * For graphql-ws's `onNext` hook: the payload to send for `result` — for a shared result (exactly
 * `{ data }`, as graphql-ws would send it), one that serialises to its marker, its text computed once,
 * here; undefined for any other result, which graphql-ws then sends as usual.
 */
export function sharedNextPayload(result: ExecutionResult): object | undefined {
  const data = result.data
  if (typeof data !== 'object' || data === null || result.errors?.length || result.extensions !== undefined) return undefined
  const id = dataIds.get(data)
  if (id === undefined) return undefined
  if (!serialised.has(data)) serialised.set(data, Buffer.from(JSON.stringify({ data })))
  const mark = `${MARK}${id}`
  return { toJSON: () => mark }
}

/** The message split around a shared payload, or null when it has none. */
export function splitSharedMessage(text: string): { before: string; payload: Buffer; after: string } | null {
  const at = text.indexOf(MARK_JSON)
  if (at < 0) return null
  const end = text.indexOf('"', at + MARK_JSON.length)
  const data = dataById.get(Number(text.slice(at + MARK_JSON.length, end)))?.deref()
  const payload = data && serialised.get(data)
  // graphql-ws holds the result until its send completes: a missing one would be a bug, not a race.
  if (end < 0 || !payload) throw new Error('shared subscription payload is gone')
  return { before: text.slice(0, at), payload, after: text.slice(end + 1) }
}

interface SendingSocket {
  send(data: unknown, options?: unknown, cb?: (err?: Error) => void): void
  /** ws's underlying net.Socket (not public API; only corked and uncorked here, so optional). */
  _socket?: { cork(): void; uncork(): void } | null
}

/** Makes the socket send messages with a shared payload as three fragments of one message. */
export function sendSharedPayloads(socket: SendingSocket): void {
  const send = socket.send.bind(socket)
  socket.send = (data: unknown, options?: unknown, cb?: (err?: Error) => void) => {
    if (typeof options === 'function') {
      cb = options as (err?: Error) => void
      options = {}
    }
    const split = typeof data === 'string' ? splitSharedMessage(data) : null
    if (!split) return send(data, options, cb)
    // Synchronous, one after the other: nothing else can be sent between the fragments. Corked, the
    // three frames leave in one writev instead of three (a syscall per subscriber per batch, not three).
    const tcp = socket._socket
    tcp?.cork()
    try {
      send(split.before, { fin: false })
      send(split.payload, { fin: false, binary: false })
      send(split.after, { fin: true }, cb)
    } finally {
      tcp?.uncork()
    }
  }
}
