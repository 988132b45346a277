// Portable SQL's `?` placeholders as PostgreSQL's numbered ones ($1, $2, ...).

/** A ? outside quotes is a placeholder; the portable statements quote no question mark. */
export function numberedPlaceholders(sql: string): string {
  let n = 0
  return sql.replace(/'[^']*'|\?/g, (match) => (match === '?' ? `$${++n}` : match))
}
