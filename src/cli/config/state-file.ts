// Small files of the CLI's own state in the config folder (never secrets), each written whole.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { configDir } from './config.js'
import { writePrivateFile } from './private-file.js'


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
