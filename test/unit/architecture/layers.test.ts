// The shape of the house, checked on every test run: three wings (the broker, the gateway, the
// device side) over a shared ground that imports none of them, no wing importing another, and no
// import circles anywhere in src/.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const SHARED = ['src/wire', 'src/policy', 'src/audit', 'src/util', 'src/types', 'src/errors.ts']
const WINGS = ['src/broker', 'src/cli', 'src/gateway']

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return tsFiles(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

/** Relative imports of a file, static and dynamic, as paths from the repository root. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    found.push(relative(root, resolve(dirname(file), match[1])).replace(/\.js$/, '.ts'))
  }
  return found
}

const area = (path: string) => [...SHARED, ...WINGS, 'src/quickstart'].find((a) => path === a || path.startsWith(`${a}/`)) ?? path

function allowed(from: string, to: string): boolean {
  const a = area(from)
  const b = area(to)
  if (SHARED.includes(b)) return true
  if (SHARED.includes(a)) return false
  if (a === 'src/quickstart') return true
  return a === b
}

const files = tsFiles(join(root, 'src')).map((f) => relative(root, f))
const graph = new Map(files.map((f) => [f, importsOf(join(root, f)).filter((t) => t.startsWith('src/'))]))

describe('the house', () => {
  it('every import stays inside its wing or goes down to the shared ground', () => {
    const wrong = [...graph].flatMap(([from, targets]) => targets.filter((to) => !allowed(from, to)).map((to) => `${from} -> ${to}`))
    expect(wrong).toEqual([])
  })

  it('has no import circles', () => {
    const circles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const visit = (file: string) => {
      state.set(file, 'open')
      stack.push(file)
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '))
        else if (!state.has(next)) visit(next)
      }
      stack.pop()
      state.set(file, 'done')
    }
    for (const file of graph.keys()) if (!state.has(file)) visit(file)
    expect(circles).toEqual([])
  })

  it('notices a wrong import (the check itself can fail)', () => {
    expect(allowed('src/wire/api.ts', 'src/broker/http.ts')).toBe(false)
    expect(allowed('src/cli/context.ts', 'src/broker/store/sqlite-store.ts')).toBe(false)
    expect(allowed('src/broker/http.ts', 'src/cli/context.ts')).toBe(false)
    expect(allowed('src/broker/http.ts', 'src/wire/api.ts')).toBe(true)
    expect(allowed('src/quickstart/quickstart.ts', 'src/broker/server.ts')).toBe(true)
  })
})
