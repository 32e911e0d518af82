/**
 * One execution per subscription event shared by many subscribers. graphql-js executes the operation
 * for every event of every subscription; when 1,000 consoles follow one run's log, each log batch was
 * executed (every line's fields resolved and serialised) 1,000 times. An event object marked with
 * `markShared` (util/shared-event.ts) promises that what it resolves to does not depend on who asked (no field under it reads
 * the context): its result is computed once per operation document, variables and operation name, and
 * handed to every subscription with that same operation (Yoga's parser cache gives equal query text the
 * same document). Unmarked events execute per subscription, as before.
 */
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
    if (!result) byOperation.set(key, (result = run(event)))
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
