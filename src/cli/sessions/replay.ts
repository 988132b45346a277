// `jit sessions replay`: plays back the terminal recordings (asciicast v2) a gateway kept for a
// session. The broker's audit trail names each file and its SHA-256; a file that does not match
// its record is refused, not played: a replay shows what happened, or nothing.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
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
  const root = resolve(options.recordings)
  const played: ReplayResult['played'] = []
  for (const connection of casts) {
    const { file, sha256 } = connection.asciicast!
    const path = resolve(join(root, file))
    if (!path.startsWith(root + sep)) throw new UsageError(`The audit record names a file outside ${root}: ${file}.`)
    let bytes: Buffer
    try {
      bytes = readFileSync(path)
    } catch {
      throw new UsageError(`Recording ${file} is not in ${root}.`, ['Point --recordings at the gateway\'s recordings folder (jit gateway start --recordings DIR).'])
    }
    const actual = createHash('sha256').update(bytes).digest('hex')
    if (actual !== sha256) {
      throw new RecordingMismatchError(`Recording ${file} does not match its audit record (sha256 ${actual}, recorded ${sha256}); it was changed after the connection ended.`, ['Treat the file as untrusted; the audit record holds the original hash.'])
    }
    const { events, seconds } = await play(bytes.toString('utf8'), options)
    played.push({ connectionId: connection.connectionId, file, sha256, events, seconds })
  }
  return { sessionId, played }
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
