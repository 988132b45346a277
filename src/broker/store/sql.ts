// Portable SQL, the one language the repositories speak to either engine (see Store.query for its
// rules). Apart from store.ts so that the repositories depend on this much of a store only.
import type { Row } from './records.js'

/** A value bound to a `?` of portable SQL. */
export type SqlValue = string | number | null

/** Reads, in portable SQL (see Store.query). */
export interface SqlReader {
  query(sql: string, params?: readonly SqlValue[]): Promise<Row[]>
}

/** Reads and writes, in portable SQL; inside a store's transaction they are part of it. */
export interface Sql extends SqlReader {
  /** Answers with the number of rows changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>
}
