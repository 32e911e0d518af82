/**
 * LogWriter against real Postgres: bursts become few transactions (one COPY each) and NOTIFYs, sequence numbers stay
 * contiguous with several writers on one run, and a flush that fails (connection refused, connection
 * cut mid-statement) is retried without losing or reordering lines. Failures are real: the writer's
 * pool talks to Postgres through a TCP proxy the test can cut.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/harness/database.ts'
import { startTcpProxy } from '../../test/harness/tcp-proxy.ts'
import { createLogger, type Logger } from '../util/logger.ts'
import { LogWriter, appendLinesInTransaction } from './log-writer.ts'

let db: TestDatabase
let admin: pg.Pool

beforeAll(async () => {
  db = await createTestDatabase('logwriter')
  admin = new pg.Pool({ connectionString: db.url, max: 4 })
  admin.on('error', () => {})
})
afterAll(async () => {
  await admin?.end()
  await db?.drop()
})

async function newRun(): Promise<string> {
  const { rows } = await admin.query(`INSERT INTO job_run (template_name, job_type, spec, trigger) VALUES ('t', 'noop', '{}', 'MANUAL') RETURNING id`)
  return rows[0].id
}

async function stored(runId: string): Promise<Array<{ seq: number; text: string; level: string; stream: string }>> {
  const { rows } = await admin.query(`SELECT seq::int, text, level::text, stream::text FROM run_log WHERE run_id = $1 ORDER BY seq`, [runId])
  return rows
}

/** A pool whose clients count the log INSERTs and COPYs they send. */
function countingPool(url: string, applicationName = 'logwriter-test'): { pool: pg.Pool; inserts: () => number } {
  let inserts = 0
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: applicationName })
  pool.on('error', () => {})
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...a: unknown[]) => unknown
    ;(client as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | null)?.text
      if (text?.includes('INSERT INTO run_log') || text?.includes('COPY run_log')) inserts++
      return query(...args)
    }
  })
  return { pool, inserts: () => inserts }
}

/** Records warnings; `until` resolves when one matches. */
function recordingLogger(): { logger: Logger; lines: string[]; until: (re: RegExp) => Promise<void> } {
  const lines: string[] = []
  const waiters: Array<{ re: RegExp; resolve: () => void }> = []
  const logger = createLogger('warn', {}, (line) => {
    lines.push(line)
    for (const w of waiters.splice(0)) {
      if (w.re.test(line)) w.resolve()
      else waiters.push(w)
    }
  })
  return { logger, lines, until: (re) => (lines.some((l) => re.test(l)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ re, resolve }))) }
}

const line = (runId: string, text: string) => ({ runId, targetId: null, level: 'INFO' as const, stream: 'STDOUT' as const, text })

describe('LogWriter', () => {
  it('turns a burst into a few INSERTs and NOTIFYs, with contiguous sequence numbers per run', async () => {
    const [r1, r2] = [await newRun(), await newRun()]
    const { pool, inserts } = countingPool(db.url)
    const listen = new pg.Client({ connectionString: db.url })
    await listen.connect()
    const notes: string[] = []
    let sawEnd: () => void = () => {}
    const ended = new Promise<void>((resolve) => (sawEnd = resolve))
    listen.on('notification', (n) => {
      notes.push(n.payload ?? '')
      if (notes.includes(`${r1}:6000`) && notes.includes(`${r2}:6000`)) sawEnd()
    })
    await listen.query('LISTEN switchyard_log')
    const writer = new LogWriter(pool, recordingLogger().logger)
    try {
      for (let i = 1; i <= 6000; i++) {
        writer.append(line(r1, `one ${i}`))
        writer.append(line(r2, `two ${i}`))
      }
      await writer.flush()
      await ended
      // 12,000 lines: flushed at 5000 pending lines and at the end (flushes waiting behind another join
      // it), one COPY per transaction (for both runs) and one NOTIFY per run per transaction.
      expect(inserts()).toBeLessThanOrEqual(3)
      expect(notes.length).toBe(2 * inserts())
      for (const [id, prefix] of [[r1, 'one'], [r2, 'two']] as const) {
        const rows = await stored(id)
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 6000 }, (_, i) => i + 1))
        expect(rows.map((r) => r.text)).toEqual(Array.from({ length: 6000 }, (_, i) => `${prefix} ${i + 1}`))
      }
    } finally {
      await writer.close()
      await pool.end()
      await listen.end()
    }
  })

  it('lets several writers (processes) and in-transaction lines share a run without gaps or collisions', async () => {
    const run = await newRun()
    const pools = [countingPool(db.url).pool, countingPool(db.url).pool]
    const writers = pools.map((p) => new LogWriter(p, recordingLogger().logger, { flushIntervalMs: 1, maxBatchLines: 50 }))
    try {
      const tx = await admin.connect()
      for (let i = 0; i < 1000; i++) for (const [w, writer] of writers.entries()) writer.append(line(run, `w${w} ${i}`))
      await tx.query('BEGIN')
      await appendLinesInTransaction(tx, run, [{ targetId: null, level: 'INFO', stream: 'SYSTEM', text: 'in transaction' }])
      await tx.query('COMMIT')
      tx.release()
      await Promise.all(writers.map((w) => w.flush()))
      const rows = await stored(run)
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 2001 }, (_, i) => i + 1))
      for (const w of [0, 1]) {
        expect(rows.filter((r) => r.text.startsWith(`w${w} `)).map((r) => r.text)).toEqual(Array.from({ length: 1000 }, (_, i) => `w${w} ${i}`))
      }
      const { rows: run_ } = await admin.query(`SELECT log_seq::int FROM job_run WHERE id = $1`, [run])
      expect(run_[0].log_seq).toBe(2001)
    } finally {
      for (const w of writers) await w.close()
      for (const p of pools) await p.end()
    }
  })

  it('retries a flush whose connection is refused, keeping later flushes behind it, losing and reordering nothing', async () => {
    const run = await newRun()
    const proxy = await startTcpProxy(db.url)
    const { pool } = countingPool(proxy.url)
    const rec = recordingLogger()
    const writer = new LogWriter(pool, rec.logger, { flushIntervalMs: 10 })
    try {
      proxy.cut()
      for (let i = 1; i <= 100; i++) writer.append(line(run, `a ${i}`))
      const first = writer.flush()
      await rec.until(/log batch failed; retrying/)
      for (let i = 1; i <= 100; i++) writer.append(line(run, `b ${i}`))
      const second = writer.flush()
      proxy.restore()
      await Promise.all([first, second])
      const rows = await stored(run)
      expect(rows.map((r) => r.text)).toEqual([...Array.from({ length: 100 }, (_, i) => `a ${i + 1}`), ...Array.from({ length: 100 }, (_, i) => `b ${i + 1}`)])
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
      // The writer still works afterwards.
      writer.append(line(run, 'c'))
      await writer.flush()
      expect((await stored(run)).at(-1)).toMatchObject({ seq: 201, text: 'c' })
    } finally {
      await writer.close()
      await pool.end()
      await proxy.close()
    }
  })

  it('retries a flush whose connection is cut mid-statement', async () => {
    const run = await newRun()
    const proxy = await startTcpProxy(db.url)
    const { pool } = countingPool(proxy.url, 'logwriter-cut')
    const rec = recordingLogger()
    const writer = new LogWriter(pool, rec.logger)
    const blocker = await admin.connect()
    try {
      // Hold the run's row so the writer's statement waits inside Postgres …
      await blocker.query('BEGIN')
      await blocker.query('SELECT 1 FROM job_run WHERE id = $1 FOR UPDATE', [run])
      for (let i = 1; i <= 10; i++) writer.append(line(run, `x ${i}`))
      const flushed = writer.flush()
      const waiting = async () =>
        (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'logwriter-cut' AND wait_event_type = 'Lock'`)).rows[0].n > 0
      while (!(await waiting())) await new Promise((r) => setImmediate(r))
      // … then cut its connection, let go of the row, and bring the network back.
      proxy.cut()
      await rec.until(/log batch failed; retrying/)
      await blocker.query('COMMIT')
      proxy.restore()
      await flushed
      const rows = await stored(run)
      expect(rows.map((r) => r.text)).toEqual(Array.from({ length: 10 }, (_, i) => `x ${i + 1}`))
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    } finally {
      blocker.release()
      await writer.close()
      await pool.end()
      await proxy.close()
    }
  })

  it('drops only the run whose lines cannot be encoded, at once, and writes the others', async () => {
    const [good, bad] = [await newRun(), await newRun()]
    const { pool } = countingPool(db.url)
    const rec = recordingLogger()
    const writer = new LogWriter(pool, rec.logger, { retryBaseMs: 1 })
    try {
      writer.append(line(good, 'fine 1'))
      writer.append({ ...line(bad, 'bad'), targetId: 'not-a-uuid' })
      writer.append(line(good, 'fine 2'))
      await writer.flush()
      expect((await stored(good)).map((r) => r.text)).toEqual(['fine 1', 'fine 2'])
      expect(await stored(bad)).toEqual([])
      expect(rec.lines.some((l) => l.includes('dropping log lines that cannot be stored') && l.includes(bad))).toBe(true)
      // Content the encoder refuses is not retried: no transaction is tried again for it.
      expect(rec.lines.filter((l) => l.includes('retrying'))).toEqual([])
    } finally {
      await writer.close()
      await pool.end()
    }
  })

  it('gives up on an unreachable database only after close(), instead of hanging shutdown', async () => {
    const run = await newRun()
    const proxy = await startTcpProxy(db.url)
    const { pool } = countingPool(proxy.url)
    const rec = recordingLogger()
    const writer = new LogWriter(pool, rec.logger, { retryBaseMs: 1 })
    try {
      proxy.cut()
      writer.append(line(run, 'lost'))
      void writer.flush()
      await rec.until(/attempt=6 /) // retrying past the limit for rejected content: still trying while open
      await writer.close()
      expect(rec.lines.some((l) => l.includes('stayed unreachable after the log writer closed'))).toBe(true)
      writer.append(line(run, 'after close')) // dropped with a warning, not thrown
      expect(rec.lines.some((l) => l.includes('appended after the log writer closed'))).toBe(true)
    } finally {
      await pool.end()
      await proxy.close()
    }
  })

  it('writes what is pending on close, replaces NUL and truncates huge lines', async () => {
    const run = await newRun()
    const { pool } = countingPool(db.url)
    const writer = new LogWriter(pool, recordingLogger().logger, { flushIntervalMs: 60_000 })
    writer.append(line(run, 'a\u0000b'))
    writer.append(line(run, 'x'.repeat(100_000)))
    await writer.close()
    await pool.end()
    const rows = await stored(run)
    expect(rows[0]!.text).toBe('a\uFFFDb')
    expect(rows[1]!.text.length).toBeLessThan(70_000)
    expect(rows[1]!.text.endsWith('…[truncated]')).toBe(true)
  })

  it('stores every field of every line as given when one flush carries several runs (texts an array literal must escape, each level, stream and target, the time)', async () => {
    const [r1, r2, r3] = [await newRun(), await newRun(), await newRun()]
    const { rows: targets } = await admin.query(
      `INSERT INTO run_target (run_id, position, name, host, port) VALUES ($1, 0, 'a', 'h', 22), ($1, 1, 'b', 'h', 22) RETURNING id`,
      [r1],
    )
    const [t1, t2] = targets.map((t: { id: string }) => t.id)
    const { pool, inserts } = countingPool(db.url)
    const writer = new LogWriter(pool, recordingLogger().logger, { flushIntervalMs: 60_000 })
    const texts = ['plain', 'a "quoted" word', 'back\\slash \\" both', '{braces},commas', 'NULL', '', ' ', 'ünï©ødé 🚀', 'tab\there', "it's"]
    const levels = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const
    const streams = ['STDOUT', 'STDERR', 'SYSTEM'] as const
    const given = new Map<string, Array<{ text: string; level: string; stream: string; targetId: string | null; ts: number }>>([[r1, []], [r2, []], [r3, []]])
    const t0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678)
    let i = 0
    for (const text of texts) {
      for (const run of [r2, r1, r3]) {
        const l = { runId: run, text, level: levels[i % 4]!, stream: streams[i % 3]!, targetId: run === r1 ? [t1, t2, null][i % 3]! : null, ts: t0 + i * 1001 }
        writer.append(l)
        given.get(run)!.push(l)
        i++
      }
    }
    await writer.close()
    await pool.end()
    expect(inserts()).toBe(1)
    for (const [run, lines] of given) {
      const { rows } = await admin.query(
        `SELECT seq::int, text, level::text, stream::text, target_id, (extract(epoch FROM ts) * 1000)::float8 AS ms FROM run_log WHERE run_id = $1 ORDER BY seq`,
        [run],
      )
      expect(rows).toEqual(lines.map((l, k) => ({ seq: k + 1, text: l.text, level: l.level, stream: l.stream, target_id: l.targetId, ms: l.ts })))
    }
  })

  it('writes a flood in transactions of at most maxWriteLines, later flushes joining the one that waits, without gap, duplicate or reorder', async () => {
    const [r1, r2] = [await newRun(), await newRun()]
    const { pool, inserts } = countingPool(db.url)
    const listen = new pg.Client({ connectionString: db.url })
    await listen.connect()
    const notes: Array<{ run: string; seq: number }> = []
    listen.on('notification', (n) => {
      const [run, seq] = (n.payload ?? '').split(':')
      notes.push({ run: run!, seq: Number(seq) })
    })
    await listen.query('LISTEN switchyard_log')
    const writer = new LogWriter(pool, recordingLogger().logger, { maxBatchLines: 100, maxWriteLines: 2000 })
    const blocker = await admin.connect()
    try {
      // The first flush waits on r1's row while 30,000 more lines (300 flushes' worth) arrive: they must
      // join one waiting flush, which writes them in transactions of at most 2,000 lines.
      await blocker.query('BEGIN')
      await blocker.query('SELECT 1 FROM job_run WHERE id = $1 FOR UPDATE', [r1])
      for (let i = 1; i <= 100; i++) writer.append(line(r1, `r1 ${i}`))
      for (let i = 101; i <= 15_100; i++) {
        writer.append(line(r1, `r1 ${i}`))
        writer.append(line(r2, `r2 ${i - 100}`))
        if (i % 1000 === 0) await new Promise((r) => setImmediate(r))
      }
      const done = writer.flush()
      await blocker.query('COMMIT')
      await done
      // 1 transaction for the first 100 lines, then ceil(30,000 / 2,000) = 15.
      expect(inserts()).toBe(16)
      const r1Rows = await stored(r1)
      expect(r1Rows.map((r) => r.seq)).toEqual(Array.from({ length: 15_100 }, (_, i) => i + 1))
      expect(r1Rows.map((r) => r.text)).toEqual(Array.from({ length: 15_100 }, (_, i) => `r1 ${i + 1}`))
      const r2Rows = await stored(r2)
      expect(r2Rows.map((r) => r.seq)).toEqual(Array.from({ length: 15_000 }, (_, i) => i + 1))
      expect(r2Rows.map((r) => r.text)).toEqual(Array.from({ length: 15_000 }, (_, i) => `r2 ${i + 1}`))
      // One NOTIFY per run per transaction, each with the run's last seq, increasing, ending at the last line.
      await listen.query('SELECT 1')
      for (const [run, last] of [[r1, 15_100], [r2, 15_000]] as const) {
        const seqs = notes.filter((n) => n.run === run).map((n) => n.seq)
        expect(seqs.at(-1)).toBe(last)
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
        for (const [k, seq] of seqs.entries()) expect(seq - (k ? seqs[k - 1]! : 0)).toBeLessThanOrEqual(2000)
      }
      expect(notes.length).toBeLessThanOrEqual(2 * inserts())
    } finally {
      blocker.release()
      await writer.close()
      await pool.end()
      await listen.end()
    }
  })

  it('stores long and multi-byte lines whole across COPY data chunks (several MB in one transaction)', async () => {
    const run = await newRun()
    const { pool, inserts } = countingPool(db.url)
    const writer = new LogWriter(pool, recordingLogger().logger, { flushIntervalMs: 60_000 })
    // 64k characters of 3-byte UTF-8 (192 KB per line, longer than a 1 MiB chunk holds six of), 4-byte
    // emoji (surrogate pairs), a lone surrogate (not valid UTF-16: stored as U+FFFD), short lines between.
    const texts: string[] = []
    for (let i = 0; i < 40; i++) texts.push(i % 4 === 0 ? '€'.repeat(64 * 1024) : i % 4 === 1 ? `${i} 🚀`.repeat(5000) : i % 4 === 2 ? `short ${i}` : `lone \uD800 ${i}`)
    for (const text of texts) writer.append(line(run, text))
    await writer.close()
    await pool.end()
    expect(inserts()).toBe(1)
    const rows = await stored(run)
    expect(rows.map((r) => r.seq)).toEqual(texts.map((_, i) => i + 1))
    expect(rows.map((r) => r.text)).toEqual(texts.map((t) => t.replace('\uD800', '\uFFFD')))
  })

  it('hands a run its unflushed lines (takePending) only while none of its lines are on their way, and keeps the others', async () => {
    const [r1, r2] = [await newRun(), await newRun()]
    const { pool } = countingPool(db.url)
    const writer = new LogWriter(pool, recordingLogger().logger, { flushIntervalMs: 60_000 })
    const blocker = await admin.connect()
    try {
      writer.append(line(r1, 'a1'))
      writer.append(line(r2, 'b1'))
      writer.append(line(r1, 'a2'))
      expect(writer.takePending(r1)!.map((l) => l.text)).toEqual(['a1', 'a2'])
      expect(writer.takePending(r1)).toEqual([])
      // A flush of r2's line waits on r2's row: r2's next line must not overtake it, r1's may be taken.
      await blocker.query('BEGIN')
      await blocker.query('SELECT 1 FROM job_run WHERE id = $1 FOR UPDATE', [r2])
      const flushed = writer.flush()
      writer.append(line(r2, 'b2'))
      writer.append(line(r1, 'a3'))
      expect(writer.takePending(r2)).toBeNull()
      expect(writer.takePending(r1)!.map((l) => l.text)).toEqual(['a3'])
      await blocker.query('COMMIT')
      await flushed
      expect(writer.takePending(r2)!.map((l) => l.text)).toEqual(['b2'])
      await writer.close()
      expect((await stored(r2)).map((r) => r.text)).toEqual(['b1'])
      expect(await stored(r1)).toEqual([])
    } finally {
      blocker.release()
      await pool.end()
    }
  })
})
