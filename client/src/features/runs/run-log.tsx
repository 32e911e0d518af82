'use client'
/**
 * The live log: a virtualized list (fixed 20px rows; only what is on screen is rendered, so 200,000
 * lines scroll smoothly), level colours, filters by minimum level, target and text, follow-tail that
 * turns itself off when you scroll up, and download of the whole log or the filtered view.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { Icons } from '@/components/icons'
import { formatLogTime } from '@/lib/format'
import { RUN_LEVEL, type LogBuffer, type LogLevel, type LogLine } from '@/lib/log-buffer'
import type { LogStreamState } from './use-run-log'

const ROW = 20
const OVERSCAN = 20

interface Props {
  buffer: LogBuffer
  version: number
  state: LogStreamState
  error: string | null
  targets: ReadonlyArray<{ id: string; name: string }>
  /** Chosen elsewhere (clicking a target row). */
  target: string | null
  onTargetChange(target: string | null): void
  fileName: string
}

export function RunLog({ buffer, version, state, error, targets, target, onTargetChange, fileName }: Props) {
  const [minLevel, setMinLevel] = useState<LogLevel | null>(null)
  const [searchInput, setSearchInput] = useState('')
  const [search, setSearch] = useState('')
  const [follow, setFollow] = useState(true)
  const [scrollTop, setScrollTop] = useState(0)
  const [height, setHeight] = useState(560)
  const viewport = useRef<HTMLDivElement>(null)
  const programmaticScroll = useRef(false)

  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput), 150)
    return () => clearTimeout(t)
  }, [searchInput])

  // The view lives in the buffer (an index kept current as lines arrive).
  const [viewVersion, setViewVersion] = useState(0)
  useEffect(() => {
    buffer.setView({ minLevel, target, search })
    setViewVersion((v) => v + 1)
  }, [buffer, minLevel, target, search])

  const names = useMemo(() => new Map(targets.map((t) => [t.id, t.name])), [targets])
  const size = buffer.size

  useLayoutEffect(() => {
    const el = viewport.current
    if (!el) return
    const ro = new ResizeObserver(() => setHeight(el.clientHeight))
    ro.observe(el)
    return () => ro.disconnect()
  }, [])

  // Follow the tail: after new lines (or a new view), jump to the bottom.
  useLayoutEffect(() => {
    const el = viewport.current
    if (!el || !follow) return
    programmaticScroll.current = true
    el.scrollTop = el.scrollHeight
    setScrollTop(el.scrollTop)
  }, [version, viewVersion, follow, size])

  const onScroll = useCallback(() => {
    const el = viewport.current
    if (!el) return
    setScrollTop(el.scrollTop)
    if (programmaticScroll.current) {
      programmaticScroll.current = false
      return
    }
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 2
    setFollow(atBottom)
  }, [])

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN)
  const last = Math.min(size, Math.ceil((scrollTop + height) / ROW) + OVERSCAN)
  const rows: Array<{ i: number; line: LogLine }> = []
  for (let i = first; i < last; i++) {
    const line = buffer.at(i)
    if (line) rows.push({ i, line })
  }

  const download = (onlyView: boolean) => {
    const text = buffer.toText(onlyView, (id) => names.get(id) ?? id)
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }))
    const a = document.createElement('a')
    a.href = url
    a.download = onlyView ? fileName.replace(/\.log$/, '-filtered.log') : fileName
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
  }

  const filtered = !!(minLevel || target || search)
  const counts = buffer.counts

  return (
    <section className="panel log-panel" aria-label="Run log">
      <div className="log-toolbar">
        <h2 style={{ marginRight: 8 }}>Log</h2>
        <select aria-label="Minimum level" value={minLevel ?? ''} onChange={(e) => setMinLevel((e.target.value || null) as LogLevel | null)}>
          <option value="">All levels</option>
          <option value="INFO">Info and above</option>
          <option value="WARNING">Warnings and errors</option>
          <option value="ERROR">Errors only</option>
        </select>
        <select aria-label="Target" value={target ?? ''} onChange={(e) => onTargetChange(e.target.value || null)}>
          <option value="">All targets</option>
          <option value={RUN_LEVEL}>Run messages</option>
          {targets.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
        <input type="search" placeholder="Search log…" aria-label="Search log" value={searchInput} onChange={(e) => setSearchInput(e.target.value)} />
        <span className="grow" />
        <span className="level-counts" aria-label="Line counts">
          <span>{buffer.total.toLocaleString()} lines</span>
          {counts.WARNING ? <span className="w">{counts.WARNING.toLocaleString()} warnings</span> : null}
          {counts.ERROR ? <span className="e">{counts.ERROR.toLocaleString()} errors</span> : null}
        </span>
        <button type="button" className="btn sm" aria-pressed={follow} onClick={() => setFollow((f) => !f)} title="Keep the newest lines in view">
          <Icons.arrowDown /> Follow
        </button>
        <button type="button" className="btn sm" onClick={() => download(false)} disabled={!buffer.total} title="Download the whole log">
          <Icons.download /> Download
        </button>
        {filtered ? (
          <button type="button" className="btn sm ghost" onClick={() => download(true)} disabled={!size} title="Download only the lines shown">
            Download shown
          </button>
        ) : null}
      </div>
      <div ref={viewport} className="log-viewport" onScroll={onScroll} data-testid="log-viewport" tabIndex={0}>
        <div style={{ height: size * ROW, position: 'relative', minWidth: '100%' }}>
          {rows.map(({ i, line }) => (
            <div key={line.seq} className={`log-line ${line.level} ${line.stream}`} style={{ top: i * ROW }} data-seq={line.seq}>
              <span className="seq">{line.seq}</span>
              <span className="ts">{formatLogTime(line.ts)}</span>
              <span className="tgt">{line.targetId ? (names.get(line.targetId) ?? '') : 'run'}</span>
              <span className="txt">{highlight(line.text, search)}</span>
            </div>
          ))}
        </div>
        {size === 0 ? (
          <div className="log-empty">
            {state === 'connecting' ? 'Connecting to the log…' : filtered && buffer.total ? 'No lines match the filters.' : state === 'complete' ? 'This run wrote no log lines.' : 'Waiting for output…'}
          </div>
        ) : null}
      </div>
      <div className="log-status">
        <span data-testid="log-state">{error ? `Log stream error: ${error}` : state === 'complete' ? 'Complete' : state === 'streaming' ? 'Live' : 'Connecting…'}</span>
        {filtered ? <span>{size.toLocaleString()} shown</span> : null}
        {!follow && size ? (
          <button type="button" className="btn sm ghost" onClick={() => setFollow(true)}>
            Jump to latest ↓
          </button>
        ) : null}
      </div>
    </section>
  )
}

function highlight(text: string, search: string) {
  const q = search.trim()
  if (!q) return text
  const lower = text.toLowerCase()
  const needle = q.toLowerCase()
  const parts: Array<string | React.ReactElement> = []
  let from = 0
  for (let n = 0; n < 20; n++) {
    const at = lower.indexOf(needle, from)
    if (at < 0) break
    if (at > from) parts.push(text.slice(from, at))
    parts.push(<mark key={at}>{text.slice(at, at + q.length)}</mark>)
    from = at + q.length
  }
  parts.push(text.slice(from))
  return parts
}
