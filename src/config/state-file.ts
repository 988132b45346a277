// Small files of the CLI's own state in the config folder (never secrets): written atomically
// (temp file + rename) with 0600 permissions, so a crash never leaves half a file.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { configDir } from './config.js'

export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, path)
}

/** A list kept as a JSON file that is absent while the list is empty: checking for it costs one stat. */
export class ListFile<T> {
  constructor(readonly name: string) {}

  get path(): string {
    return join(configDir(), this.name)
  }

  exists(): boolean {
    return existsSync(this.path)
  }

  read(): T[] {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as T[]
    } catch {
      return []
    }
  }

  write(entries: T[]): void {
    if (entries.length === 0) rmSync(this.path, { force: true })
    else writePrivateFile(this.path, `${JSON.stringify(entries, null, 2)}\n`)
  }
}
