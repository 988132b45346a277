// Asset paths and subtree patterns. A path is segments joined by "/" (ISA-95: site/area/line/
// cell/asset). In a pattern, "*" matches one segment, "plc-*" part of one, and a trailing "**"
// matches the node and its whole subtree.

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,63}$/
const SEGMENT_GLOB = /^[a-z0-9._*-]{1,64}$/

export function isAssetPath(path: string): boolean {
  const segments = path.split('/')
  return segments.length >= 1 && segments.length <= 8 && segments.every((segment) => SEGMENT.test(segment))
}

export function assetPatternError(pattern: string): string | undefined {
  const segments = pattern.split('/')
  for (const [i, segment] of segments.entries()) {
    if (segment === '**' && i !== segments.length - 1) return '"**" may only end a pattern'
    if (segment === '**' || segment === '*' || SEGMENT.test(segment)) continue
    if (segment.includes('**')) return `"${segment}": "**" stands alone as the last segment`
    if (!SEGMENT_GLOB.test(segment)) return `"${segment}" is not a valid path segment`
  }
  return undefined
}

/** Whether a pattern segment is literal (no wildcard): the rule index files rules under those. */
export const isLiteralSegment = (segment: string) => !segment.includes('*')

const compiled = new Map<string, (path: string) => boolean>()

/** A matcher for one pattern, not kept: for patterns a caller sends (the policy's are cached by matchesAsset). */
export function assetMatcher(pattern: string): (path: string) => boolean {
  if (!pattern.includes('*')) return (path) => path === pattern
  if (pattern.endsWith('/**') && !pattern.slice(0, -3).includes('*')) {
    const root = pattern.slice(0, -3)
    const prefix = `${root}/`
    return (path) => path === root || path.startsWith(prefix)
  }
  if (pattern === '**') return () => true
  const segments = pattern.split('/')
  const parts = segments.map((segment, i) => {
    if (segment === '**') return i === 0 ? '.*' : '(?:/.*)?'
    const body = segment === '*' ? '[^/]+' : segment.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')
    return i === 0 ? body : `/${body}`
  })
  const regex = new RegExp(`^${parts.join('')}$`)
  return (path) => regex.test(path)
}

export function matchesAsset(pattern: string, path: string): boolean {
  let matcher = compiled.get(pattern)
  if (!matcher) {
    matcher = assetMatcher(pattern)
    compiled.set(pattern, matcher)
  }
  return matcher(path)
}
