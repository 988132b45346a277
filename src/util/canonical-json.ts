// Deterministic JSON (sorted keys) so that a hash over a record is reproducible anywhere.

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    // Every index, holes too (as null, like JSON.stringify): map() skips holes, giving "[,1]", not JSON.
    let items = ''
    for (let i = 0; i < value.length; i++) items += `${i === 0 ? '' : ','}${canonicalJson(value[i])}`
    return `[${items}]`
  }
  const entries = Object.keys(value as object)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
  return `{${entries.join(',')}}`
}
