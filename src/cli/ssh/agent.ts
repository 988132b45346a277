// A minimal ssh-agent of jit's own (the agent protocol of draft-miller-ssh-agent): it holds one
// ephemeral Ed25519 key and its certificate in memory, lists them and signs with them, and refuses
// everything else (adding, removing, locking, extensions). Its socket lives in a private 0700
// folder that close() removes; nothing of the key ever touches the disk.
import { sign, type KeyObject } from 'node:crypto'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SshReader, SshWriter, ed25519SignatureBlob } from '../../util/ssh-wire.js'
import { processAlive } from '../../util/process-alive.js'
import { localSocketPath } from './local-socket.js'

const SSH_AGENT_FAILURE = 5
const SSH_AGENTC_REQUEST_IDENTITIES = 11
const SSH_AGENT_IDENTITIES_ANSWER = 12
const SSH_AGENTC_SIGN_REQUEST = 13
const SSH_AGENT_SIGN_RESPONSE = 14
/** A sign request carries a session hash and a little more; nothing legitimate comes near this. */
const MAX_MESSAGE = 256 * 1024

export interface AgentIdentity {
  privateKey: KeyObject
  /** The certificate blob offered to the server. */
  certificate: Buffer
  comment: string
}

export interface RunningAgent {
  /** For SSH_AUTH_SOCK / IdentityAgent. */
  socketPath: string
  /** The private folder holding the socket. */
  dir: string
  /** Stops answering and removes the socket and its folder. */
  close(): Promise<void>
}

const DIR_PREFIX = 'jit-ssh-'

export async function startAgent(identity: AgentIdentity): Promise<RunningAgent> {
  await removeStaleAgentDirs()
  // mkdtemp makes the folder 0700: only this user can reach the socket.
  const dir = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`))
  const socketPath = localSocketPath(dir, 'agent')
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    serve(socket, identity)
  })
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail)
      server.listen(socketPath, () => ok())
    })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  let closed: Promise<void> | undefined
  return {
    socketPath,
    dir,
    close() {
      closed ??= (async () => {
        for (const socket of sockets) socket.destroy()
        await new Promise<void>((ok) => server.close(() => ok()))
        await rm(dir, { recursive: true, force: true })
      })()
      return closed
    },
  }
}

/**
 * A jit killed outright (SIGKILL, power loss) cannot remove its socket folder. It never held a key
 * (the key lived in that process's memory only), but the next run tidies it away: folders of
 * this user whose jit process is gone.
 */
export async function removeStaleAgentDirs(): Promise<void> {
  const uid = process.getuid?.()
  let names: string[]
  try {
    names = await readdir(tmpdir())
  } catch {
    return
  }
  for (const name of names) {
    const pid = /^jit-ssh-(\d+)-/.exec(name)?.[1]
    if (!pid || Number(pid) === process.pid || processAlive(Number(pid))) continue
    const path = join(tmpdir(), name)
    try {
      if (uid !== undefined && (await stat(path)).uid !== uid) continue
      await rm(path, { recursive: true, force: true })
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}


function serve(socket: Socket, identity: AgentIdentity): void {
  let pending = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0)
      if (length === 0 || length > MAX_MESSAGE) return socket.destroy()
      if (pending.length < 4 + length) return
      const message = pending.subarray(4, 4 + length)
      pending = pending.subarray(4 + length)
      socket.write(frame(answer(message, identity)))
    }
  })
}

function answer(message: Buffer, identity: AgentIdentity): Buffer {
  try {
    const reader = new SshReader(message)
    const type = reader.byte()
    if (type === SSH_AGENTC_REQUEST_IDENTITIES) {
      return new SshWriter().byte(SSH_AGENT_IDENTITIES_ANSWER).uint32(1).string(identity.certificate).string(identity.comment).toBuffer()
    }
    if (type === SSH_AGENTC_SIGN_REQUEST) {
      const keyBlob = reader.string()
      const data = reader.string()
      reader.uint32() // flags: about RSA hash choice, nothing for Ed25519
      if (!keyBlob.equals(identity.certificate)) return failure()
      return new SshWriter().byte(SSH_AGENT_SIGN_RESPONSE).string(ed25519SignatureBlob(sign(null, data, identity.privateKey))).toBuffer()
    }
  } catch {
    // A malformed message gets a plain failure, like any request this agent does not serve.
  }
  return failure()
}

const failure = () => Buffer.from([SSH_AGENT_FAILURE])
const frame = (body: Buffer) => new SshWriter().string(body).toBuffer()
