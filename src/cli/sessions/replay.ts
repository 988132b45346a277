// `jit sessions replay`: plays back the terminal recordings (asciicast v2) a gateway kept for a
// session. The broker's audit trail names each file and its SHA-256; a file that does not match
// its record is refused, not played: a replay shows what happened, or nothing. Only regular files
// inside the recordings folder are read (readRecording).
import { createHash } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs'
import { basename, dirname, join, resolve, sep } from 'node:path'
import type { CliContext } from '../context.js'
import { JitError, UsageError } from '../../errors.js'
import { sessionStory } from './session-proof.js'

export interface ReplayResult {
  sessionId: string
  played: { connectionId: string; file: string; sha256: string; events: number; seconds: number }[]
}

export interface ReplayOptions {
  recordings: string
  speed: number
  /** Longest pause played back, in seconds (idle time is compressed to this). */
  maxIdle: number
  write?: (text: string) => void
}

export class RecordingMismatchError extends JitError {
  readonly code = 'recording-mismatch'
}

export async function replaySession(cli: CliContext, sessionId: string, options: ReplayOptions): Promise<ReplayResult> {
  const story = await sessionStory(cli, sessionId)
  const casts = story.connections.filter((c) => c.asciicast)
  if (casts.length === 0) {
    throw new UsageError(`Session ${sessionId} has no terminal recording.`, ['jit sessions show ID lists its connections; only terminal assets behind a gateway started with --recordings are kept as asciicast.'])
  }
  const root = recordingsRoot(options.recordings)
  const played: ReplayResult['played'] = []
  for (const connection of casts) {
    const { file, sha256 } = connection.asciicast!
    const bytes = readRecording(root, file)
    const actual = createHash('sha256').update(bytes).digest('hex')
    if (actual !== sha256) {
      throw new RecordingMismatchError(`Recording ${file} does not match its audit record (recorded sha256 ${sha256}); it was changed after the connection ended.`, ['Treat the file as untrusted; the audit record holds the original hash.'])
    }
    const { events, seconds } = await play(bytes.toString('utf8'), options)
    played.push({ connectionId: connection.connectionId, file, sha256, events, seconds })
  }
  return { sessionId, played }
}

/** The recordings folder, links resolved: every file played must lie inside it. */
function recordingsRoot(folder: string): string {
  try {
    return realpathSync(folder)
  } catch {
    throw new UsageError(`The recordings folder ${folder} does not exist.`, [WHERE_RECORDINGS])
  }
}

const WHERE_RECORDINGS = 'Point --recordings at the gateway\'s recordings folder (jit gateway start --recordings DIR).'

/**
 * The bytes of a recording the audit record names, read only from inside the recordings folder:
 * its folder (links resolved) must lie inside the resolved root; the file itself is opened
 * without following a link (a link swapped in at the last moment fails to open) and without
 * blocking (a FIFO would hang the reader), and must be a regular file by the opened descriptor.
 * Nothing outside the folder is read or hashed.
 */
function readRecording(root: string, file: string): Buffer {
  const outside = () => new UsageError(`The audit record names ${file}, which is not a file inside ${root}; nothing outside the recordings folder is played.`, [WHERE_RECORDINGS])
  const path = resolve(root, file)
  if (!path.startsWith(root + sep)) throw outside()
  let folder: string
  try {
    folder = realpathSync(dirname(path))
  } catch {
    throw new UsageError(`Recording ${file} is not in ${root}.`, [WHERE_RECORDINGS])
  }
  if (folder !== root && !folder.startsWith(root + sep)) throw outside()
  let fd: number
  try {
    fd = openSync(join(folder, basename(path)), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UsageError(`Recording ${file} is a symbolic link; only the gateway's own files are played.`, [WHERE_RECORDINGS])
    throw new UsageError(`Recording ${file} is not in ${root}.`, [WHERE_RECORDINGS])
  }
  try {
    if (!fstatSync(fd).isFile()) throw new UsageError(`Recording ${file} is not a regular file; only the gateway's own files are played.`, [WHERE_RECORDINGS])
    return readFileSync(fd)
  } finally {
    closeSync(fd)
  }
}

async function play(cast: string, options: ReplayOptions): Promise<{ events: number; seconds: number }> {
  const [, ...lines] = cast.split('\n').filter((line) => line.length > 0)
  let clock = 0
  let events = 0
  for (const line of lines) {
    const [at, kind, text] = JSON.parse(line) as [number, string, string]
    if (kind !== 'o') continue
    const pause = Math.min(Math.max(0, at - clock), options.maxIdle) / options.speed
    clock = at
    if (pause > 0.001 && options.write) await new Promise((resolve) => setTimeout(resolve, pause * 1000))
    options.write?.(text)
    events++
  }
  return { events, seconds: clock }
}
