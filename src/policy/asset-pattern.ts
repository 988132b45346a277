// Asset paths and subtree patterns. A path is segments joined by "/" (ISA-95: site/area/line/
// cell/asset). In a pattern, "*" matches one segment and a trailing "**" matches the subtree.

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,63}$/

export function isAssetPath(path: string): boolean {
  const segments = path.split('/')
  return segments.length >= 1 && segments.length <= 8 && segments.every((segment) => SEGMENT.test(segment))
}

export function assetPatternError(pattern: string): string | undefined {
  const segments = pattern.split('/')
  for (const [i, segment] of segments.entries()) {
    if (segment === '**' && i !== segments.length - 1) return '"**" may only end a pattern'
    if (segment !== '*' && segment !== '**' && !SEGMENT.test(segment)) return `"${segment}" is not a valid path segment`
  }
  return undefined
}

export function matchesAsset(pattern: string, path: string): boolean {
  const want = pattern.split('/')
  const have = path.split('/')
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '**') return have.length >= i
    if (i >= have.length) return false
    if (want[i] !== '*' && want[i] !== have[i]) return false
  }
  return want.length === have.length
}
