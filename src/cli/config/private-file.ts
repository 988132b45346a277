// Writes the CLI's small state files: atomically (temp file + rename) with 0600 permissions, in
// a folder only the user can enter (on Windows, by an ACL of its own), so a crash never leaves
// half a file and nobody else reads it.
import { renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { makePrivateFolder } from '../../util/private-folder.js'

export function writePrivateFile(path: string, text: string): void {
  makePrivateFolder(dirname(path))
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, path)
}
