// A long read handed out piece by piece: an async generator over what `produce` puts, read from
// one store.snapshot. The reader's pace drives the reads (one piece read ahead at most), so a
// slow client of a large export holds one batch in memory, not the log; when the reader stops
// early (a client gone), the producer's next put answers false and the snapshot ends.
import type { SqlReader, Store } from './store.js'

/** Hands a piece to the reader; false when the reader has stopped (produce should return). */
export type Put<T> = (piece: T) => Promise<boolean>

export async function* fromSnapshot<T>(store: Store, produce: (read: SqlReader, put: Put<T>) => Promise<void>): AsyncGenerator<T> {
  const queue: T[] = []
  let finished = false
  let failure: { error: unknown } | undefined
  let stopped = false
  let wakeReader = () => {}
  let wakeProducer = () => {}
  const put: Put<T> = async (piece) => {
    if (stopped) return false
    queue.push(piece)
    wakeReader()
    while (queue.length > 0 && !stopped) await new Promise<void>((resolve) => (wakeProducer = resolve))
    return !stopped
  }
  const reading = store
    .snapshot((read) => produce(read, put))
    .then(
      () => void (finished = true),
      (error: unknown) => void (failure = { error }),
    )
    .finally(() => wakeReader())
  try {
    for (;;) {
      if (queue.length > 0) {
        const piece = queue.shift() as T
        wakeProducer()
        yield piece
        continue
      }
      if (failure) throw failure.error
      if (finished) return
      await new Promise<void>((resolve) => (wakeReader = resolve))
    }
  } finally {
    stopped = true
    wakeProducer()
    await reading
  }
}
