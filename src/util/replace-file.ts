// Replaces a file whole: the new content goes to a temporary file beside it, is flushed to disk,
// and takes the name in one rename. A reader (sshd reading RevokedKeys at each login) sees the old
// file or the new one, never half of one; a failed write leaves the old file and no temporary.
import { randomBytes } from 'node:crypto'
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'

export function replaceFile(path: string, content: string | Buffer, mode = 0o644): void {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const fd = openSync(temporary, 'wx', mode)
    try {
      fchmodSync(fd, mode) // whatever the umask
      const bytes = typeof content === 'string' ? Buffer.from(content) : content
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
}
