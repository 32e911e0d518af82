'use client'
/**
 * The live log: a virtualized list (20px rows; only what is on screen is rendered, so 200,000 lines
 * scroll smoothly), level colours, filters by minimum level, target and text, follow-tail that turns
 * itself off when you scroll up, line wrapping (rows per line computed from the monospace column
 * width), copy and download of the whole log or the filtered view, and a full-window mode. The view
 * fills the screen's height rather than a fixed box, so the newest lines are in sight.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { Icons } from '@/components/icons'
import { plural } from '@/components/ui'
import { formatLogTime } from '@/lib/format'
import { RUN_LEVEL, type LogBuffer, type LogLevel, type LogLine } from '@/lib/log-buffer'
import { lineAtRow, rowOffsets, wrappedRows } from '@/lib/log-layout'
import type { LogStreamState } from './use-run-log'

const ROW = 20
const OVERSCAN = 20
/** Width of the seq, time and target columns plus padding (see .log-line in globals.css). */
const GUTTER_PX = 64 + 96 + 120 + 12

/** Copies text; falls back to a hidden textarea where the Clipboard API is not allowed. */
async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text)
  } catch {
    const ta = document.createElement('textarea')
    ta.value = text
    ta.style.position = 'fixed'
    ta.style.opacity = '0'
    document.body.appendChild(ta)
    ta.select()
    document.execCommand('copy')
    ta.remove()
  }
}

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
  const [width, setWidth] = useState(800)
  const [charWidth, setCharWidth] = useState(7.5)
  const [wrap, setWrap] = useState(false)
  const [fullscreen, setFullscreen] = useState(false)
  const [copied, setCopied] = useState<string | null>(null)
  const viewport = useRef<HTMLDivElement>(null)
  const probe = useRef<HTMLSpanElement>(null)
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
    const measure = () => {
      setHeight(el.clientHeight)
      setWidth(el.clientWidth)
      if (probe.current) setCharWidth(probe.current.getBoundingClientRect().width / 10 || 7.5)
    }
    measure()
    const ro = new ResizeObserver(measure)
    ro.observe(el)
    return () => ro.disconnect()
  }, [])

  useEffect(() => {
    if (!fullscreen) return
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setFullscreen(false)
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [fullscreen])

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

  // Wrapped: rows per line from the text column's width in characters.
  const cols = Math.max(20, Math.floor((width - GUTTER_PX) / charWidth))
  const offsets = useMemo(
    () => (wrap ? rowOffsets(size, (i) => wrappedRows(buffer.at(i)?.text ?? '', cols)) : null),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [wrap, cols, size, version, viewVersion, buffer],
  )
  const totalRows = offsets ? offsets[size]! : size
  const firstRow = Math.floor(scrollTop / ROW)
  const first = Math.max(0, (offsets ? lineAtRow(offsets, firstRow) : firstRow) - OVERSCAN)
  const lastRow = Math.ceil((scrollTop + height) / ROW)
  const last = Math.min(size, (offsets ? lineAtRow(offsets, lastRow) + 1 : lastRow) + OVERSCAN)
  const rows: Array<{ i: number; top: number; lines: number; line: LogLine }> = []
  for (let i = first; i < last; i++) {
    const line = buffer.at(i)
    if (line) rows.push({ i, line, top: (offsets ? offsets[i]! : i) * ROW, lines: offsets ? offsets[i + 1]! - offsets[i]! : 1 })
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
  const copy = async () => {
    await copyText(buffer.toText(filtered, (id) => names.get(id) ?? id))
    setCopied(filtered ? `Copied ${size.toLocaleString()} shown lines` : `Copied ${buffer.total.toLocaleString()} lines`)
    setTimeout(() => setCopied(null), 3000)
  }

  return (
    <section className={`panel log-panel${fullscreen ? ' fullscreen' : ''}`} aria-label="Run log" data-testid="log-panel" role={fullscreen ? 'dialog' : undefined} aria-modal={fullscreen || undefined}>
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
          <span>{plural(buffer.total, 'line')}</span>
          {counts.WARNING ? <span className="w">{plural(counts.WARNING, 'warning')}</span> : null}
          {counts.ERROR ? <span className="e">{plural(counts.ERROR, 'error')}</span> : null}
        </span>
        <button type="button" className="btn sm" aria-pressed={follow} onClick={() => setFollow((f) => !f)} title="Keep the newest lines in view">
          <Icons.arrowDown /> Follow
        </button>
        <button type="button" className="btn sm" aria-pressed={wrap} onClick={() => setWrap((w) => !w)} title="Wrap long lines">
          <Icons.wrap /> Wrap
        </button>
        <button type="button" className="btn sm" onClick={() => void copy()} disabled={!size} title={filtered ? 'Copy the lines shown' : 'Copy the whole log'}>
          <Icons.copy /> Copy
        </button>
        <button type="button" className="btn sm" onClick={() => download(false)} disabled={!buffer.total} title="Download the whole log">
          <Icons.download /> Download
        </button>
        {filtered ? (
          <button type="button" className="btn sm ghost" onClick={() => download(true)} disabled={!size} title="Download only the lines shown">
            Download shown
          </button>
        ) : null}
        <button type="button" className="btn sm" aria-pressed={fullscreen} onClick={() => setFullscreen((f) => !f)} title={fullscreen ? 'Back to the page (Esc)' : 'Show the log on the whole screen'}>
          <Icons.expand /> {fullscreen ? 'Exit full screen' : 'Full screen'}
        </button>
      </div>
      <div ref={viewport} className={`log-viewport${wrap ? ' wrap' : ''}`} onScroll={onScroll} data-testid="log-viewport" tabIndex={0} aria-label="Log lines">
        <span ref={probe} className="log-probe" aria-hidden>
          0000000000
        </span>
        <div style={{ height: totalRows * ROW, position: 'relative', minWidth: '100%' }}>
          {rows.map(({ line, top, lines }) => (
            <div key={line.seq} className={`log-line ${line.level} ${line.stream}`} style={{ top, height: lines * ROW }} data-seq={line.seq}>
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
        <span data-testid="log-state">
          {error ? `Log stream error: ${error}` : state === 'complete' ? 'Complete' : state === 'disconnected' ? 'Disconnected — not updating' : state === 'streaming' ? 'Live' : 'Connecting…'}
        </span>
        {copied ? (
          <span role="status" data-testid="log-copied">
            {copied}
          </span>
        ) : null}
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
