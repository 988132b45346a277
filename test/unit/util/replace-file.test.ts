import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { replaceFile } from '../../../src/util/replace-file.js'

const dirs: string[] = []
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-replace-'))
  dirs.push(dir)
  return dir
}
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })))

describe('replaceFile', () => {
  it('replaces the content whole, 0644, and leaves nothing beside it', () => {
    const dir = folder()
    const path = join(dir, 'revoked-keys.krl')
    writeFileSync(path, 'old')
    replaceFile(path, Buffer.from('new content'))
    expect(readFileSync(path, 'utf8')).toBe('new content')
    expect(statSync(path).mode & 0o777).toBe(0o644)
    expect(readdirSync(dir)).toEqual(['revoked-keys.krl'])
  })

  it('a failed replace keeps what was there and leaves no temporary file', () => {
    const dir = folder()
    // A folder where the file should be: the rename fails after the temporary file was written.
    const path = join(dir, 'revoked-keys.krl')
    mkdirSync(path)
    writeFileSync(join(path, 'inside'), 'kept')
    expect(() => replaceFile(path, 'new')).toThrow()
    expect(readdirSync(dir)).toEqual(['revoked-keys.krl'])
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('kept')
  })
})
