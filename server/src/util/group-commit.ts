/**
 * Group commit: writes submitted while a commit is in flight (or in the same event-loop turn) are
 * committed together by the next one, so N concurrent callers cost one transaction of a few
 * multi-row statements instead of N transactions. One commit is in flight at a time; a lone caller
 * waits only for the end of the current turn.
 *
 * Each caller still gets its own answer: when a batch fails as a whole, its items are committed one
 * by one (`one`), so one bad item (a row deleted meanwhile, a constraint) fails only its own caller.
 * Callers validate before submitting, so that path is the exception.
 */
export interface GroupCommitOptions<I, R> {
  /** Commits all items in one transaction; returns their results in the same order. */
  many: (items: I[]) => Promise<R[]>
  /** Commits one item alone (a batch of one, and each item of a batch that failed). */
  one: (item: I) => Promise<R>
  /** Most items per transaction. */
  max: number
  /**
   * Whether a failed batch may be committed item by item. Only when the batch surely rolled back: after a
   * lost connection its COMMIT may have succeeded unseen, and committing the items again would write them
   * twice. Then every caller gets the batch's error, as a lone caller would. Default: always.
   */
  splittable?: (e: unknown) => boolean
}

interface Pending<I, R> {
  item: I
  resolve: (r: R) => void
  reject: (e: unknown) => void
}

export class GroupCommit<I, R> {
  readonly #o: GroupCommitOptions<I, R>
  readonly #queue: Array<Pending<I, R>> = []
  #draining = false

  constructor(o: GroupCommitOptions<I, R>) {
    this.#o = o
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (this.#draining) return
      this.#draining = true
      // Callers of the same turn (a burst of requests parsed together) join the first batch.
      setImmediate(() => void this.#drain())
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) await this.#commit(this.#queue.splice(0, this.#o.max))
    this.#draining = false
  }

  async #commit(batch: Array<Pending<I, R>>): Promise<void> {
    if (batch.length > 1) {
      let results: R[] | null = null
      try {
        results = await this.#o.many(batch.map((p) => p.item))
      } catch (e) {
        if (this.#o.splittable && !this.#o.splittable(e)) {
          for (const p of batch) p.reject(e)
          return
        }
        // Nothing of the batch committed: each item alone below, so each caller gets its own outcome.
      }
      if (results) {
        batch.forEach((p, i) => p.resolve(results[i]!))
        return
      }
    }
    await Promise.all(
      batch.map(async (p) => {
        try {
          p.resolve(await this.#o.one(p.item))
        } catch (e) {
          p.reject(e)
        }
      }),
    )
  }
}
