/**
 * `COPY … FROM STDIN` through a pg client, with the data already in memory: a submittable query (pg's
 * own extension point, the one pg-copy-streams uses) that answers the server's CopyInResponse with the
 * given chunks and CopyDone. A stream is not needed here (the log writer holds the whole batch), so
 * this saves a dependency.
 *
 * Like pg's own queries, it fails as soon as the server reports an error (the client still waits for
 * ReadyForQuery before it sends anything else) or the connection is lost, and succeeds at
 * ReadyForQuery.
 */
import type pg from 'pg'

/** Postgres refuses CopyData messages over 1 GB; chunks are kept far below that by the caller. */
class CopyFromMemory {
  #settled = false
  rowCount = 0

  constructor(
    readonly text: string,
    private readonly chunks: readonly Buffer[],
    private readonly settle: (error: Error | null, rowCount: number) => void,
  ) {}

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text)
  }

  handleCopyInResponse(connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }): void {
    for (const chunk of this.chunks) connection.sendCopyFromChunk(chunk)
    connection.endCopyFrom()
  }

  handleCommandComplete(msg: { text?: string }): void {
    // "COPY <rows>"
    const n = Number(msg.text?.split(' ')[1])
    if (Number.isFinite(n)) this.rowCount = n
  }

  handleError(error: Error): void {
    this.#finish(error)
  }

  handleReadyForQuery(): void {
    this.#finish(null)
  }

  // A COPY returns no rows; pg calls these on any active query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  #finish(error: Error | null): void {
    if (this.#settled) return
    this.#settled = true
    this.settle(error, this.rowCount)
  }
}

/** Runs `sql` (a `COPY … FROM STDIN`) on the client, sending `chunks` as its data; resolves to the rows copied. */
export function copyFrom(client: pg.ClientBase, sql: string, chunks: readonly Buffer[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const q = new CopyFromMemory(sql, chunks, (error, rows) => (error ? reject(error) : resolve(rows)))
    client.query(q as unknown as pg.Submittable)
  })
}
