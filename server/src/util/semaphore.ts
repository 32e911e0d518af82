/**
 * Counting semaphore. `use` waits for a slot (or rejects when the signal aborts while waiting) and
 * always releases it, so a thrown or cancelled task never leaks capacity.
 */
export class Semaphore {
  #available: number
  readonly #waiters: Array<() => void> = []

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.#available = capacity
  }

  get available(): number {
    return this.#available
  }

  async use<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal)
    try {
      return await fn()
    } finally {
      this.release()
    }
  }

  acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.#available > 0) {
      this.#available--
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = () => {
        const i = this.#waiters.indexOf(grant)
        if (i >= 0) this.#waiters.splice(i, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(grant)
    })
  }

  release(): void {
    const next = this.#waiters.shift()
    if (next) next()
    else this.#available++
  }
}
