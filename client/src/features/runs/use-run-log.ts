'use client'
/**
 * Streams a run's log into a LogBuffer: jobRunLogAppended replays stored lines from the cursor and
 * then follows new ones. The subscription payload's `after` is advanced as batches arrive, so when
 * the subscription is made again after a dropped connection it resumes from the last line seen instead of
 * replaying the whole log (the buffer also drops anything it already has). Renders are coalesced to
 * one per animation frame however fast batches come.
 */
import { stringifyDocument } from '@urql/core'
import { useEffect, useState } from 'react'
import { useSessionContext } from '@/components/session-provider'
import type { ResultOf } from '@/lib/graphql'
import { LogBuffer } from '@/lib/log-buffer'
import { RunLogSubscription } from './queries'

/** 'disconnected' is set by the page while the server connection is down. */
export type LogStreamState = 'connecting' | 'streaming' | 'complete' | 'error' | 'disconnected'

export function useRunLog(runId: string): { buffer: LogBuffer; version: number; state: LogStreamState; error: string | null } {
  const { clients } = useSessionContext()
  const [buffer, setBuffer] = useState(() => new LogBuffer())
  const [version, setVersion] = useState(0)
  const [state, setState] = useState<LogStreamState>('connecting')
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    const buf = new LogBuffer()
    setBuffer(buf)
    setState('connecting')
    setError(null)
    const payload = { query: stringifyDocument(RunLogSubscription), variables: { runId, after: 0 } }
    let frame = 0
    const flush = () => {
      frame = 0
      setVersion(buf.version)
    }
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(flush)
    }
    const dispose = clients.subscribe<ResultOf<typeof RunLogSubscription>>(payload, {
      next(msg) {
        if (msg.errors?.length) {
          setError(msg.errors.map((e) => e.message).join('; '))
          setState('error')
          return
        }
        const batch = msg.data?.jobRunLogAppended
        if (!batch) return
        buf.append(batch.lines)
        payload.variables.after = buf.lastSeq
        setState((s) => (s === 'connecting' ? 'streaming' : s))
        schedule()
      },
      error(e) {
        setError(e instanceof Error ? e.message : 'the log stream failed')
        setState('error')
      },
      complete() {
        setState('complete')
        schedule()
      },
    })
    // Until the first batch arrives the stream is open but quiet (a run that has not logged yet).
    const quiet = setTimeout(() => setState((s) => (s === 'connecting' ? 'streaming' : s)), 1500)
    return () => {
      clearTimeout(quiet)
      if (frame) cancelAnimationFrame(frame)
      dispose()
    }
  }, [runId, clients])

  return { buffer, version, state, error }
}
