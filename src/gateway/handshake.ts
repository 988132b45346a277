// One tunnel's handshake: the gateway's challenge, the client's open frame, admission
// (admission.ts holds the rules), then the asset's endpoint is reached and the tunnel handed to
// pipe.ts; or a refusal frame that says why, and the connection closes.
import { randomBytes } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import {
  TUNNEL_HANDSHAKE_TIMEOUT_MS, TUNNEL_PROTOCOL, encodeFrame, type TunnelChallenge, type TunnelRefused,
} from '../wire/gateway.js'
import { newId } from '../util/ids.js'
import { FrameError, FrameReader } from '../wire/tunnel-frames.js'
import { Refusal, admit, type AdmissionContext } from './admission.js'
import { connectAsset, pipeTunnel, type PipeDeps } from './pipe.js'
import type { RevocationFollower } from './revocation-follower.js'

export interface TunnelDeps extends PipeDeps {
  /** This gateway's name (the challenge names it: a proof is for one gateway only). */
  gateway: string
  admission: AdmissionContext
  follower: RevocationFollower
  /** Frees this connection's handshake slot (listener.ts). */
  release: () => void
}

export async function serveTunnel(socket: TLSSocket, deps: TunnelDeps): Promise<void> {
  const { follower, log } = deps
  const from = `${socket.remoteAddress}:${socket.remotePort}`
  socket.on('error', () => {})
  const refuse = (refusal: Refusal) => {
    const frame: TunnelRefused = { type: 'refused', code: refusal.code, message: refusal.message }
    log(`refused ${from}: ${refusal.code}: ${refusal.message}`)
    socket.end(encodeFrame(frame))
    setTimeout(() => socket.destroy(), 1000).unref()
  }
  if (!follower.fresh) return refuse(new Refusal('stale', 'the gateway has lost the broker\'s revocation stream; no new connections until it is back'))

  const nonce = randomBytes(32).toString('base64url')
  const challenge: TunnelChallenge = { type: 'challenge', protocol: TUNNEL_PROTOCOL, gateway: deps.gateway, nonce }
  socket.write(encodeFrame(challenge))

  let opened: { frame: Record<string, unknown>; rest: Buffer }
  try {
    opened = await readOpenFrame(socket)
  } catch (error) {
    if (error instanceof FrameError) return refuse(new Refusal('bad-frame', error.message))
    socket.destroy()
    return
  }
  let admitted
  try {
    admitted = await admit(deps.admission, opened.frame, nonce)
  } catch (error) {
    if (error instanceof Refusal) return refuse(error)
    throw error
  }
  if (socket.destroyed) return
  if (!follower.fresh) return refuse(new Refusal('stale', 'the gateway has lost the broker\'s revocation stream'))
  const { claims, asset } = admitted

  const upstream = await connectAsset(asset).catch(() => undefined)
  if (!upstream) return refuse(new Refusal('unavailable', `asset ${asset.path} does not answer at its endpoint`))
  // The session may have ended (or the gateway begun to stop) while the asset was being reached.
  if (deps.admission.ended(claims.sid) || socket.destroyed || deps.state.stopping) {
    upstream.destroy()
    if (!socket.destroyed) refuse(deps.state.stopping ? new Refusal('unavailable', 'the gateway is stopping') : new Refusal('inactive', `session ${claims.sid} has ended`))
    return
  }
  // Admitted: the connection's record exists (on disk, on its way to the broker) before a byte is
  // piped; a gateway that cannot keep it opens nothing.
  const record = { connectionId: newId('con'), sessionId: claims.sid, asset: asset.path, from, startedAt: new Date().toISOString() }
  const counts = { toAsset: 0, fromAsset: 0 }
  try {
    await deps.reports.opened(record, counts)
  } catch (error) {
    upstream.destroy()
    return refuse(new Refusal('unavailable', `the gateway cannot keep the record of another connection (${(error as Error).message})`))
  }
  deps.release()
  pipeTunnel(socket, upstream, opened.rest, { ...deps, record, counts, asset, exp: claims.exp, modbus: admitted.modbus })
}

function readOpenFrame(socket: TLSSocket): Promise<{ frame: Record<string, unknown>; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader()
    const timer = setTimeout(() => done(new FrameError('handshake timed out')), TUNNEL_HANDSHAKE_TIMEOUT_MS)
    const onData = (chunk: Buffer) => {
      try {
        const result = reader.push(chunk)
        if (result) done(undefined, result)
      } catch (error) {
        done(error as Error)
      }
    }
    const onClose = () => done(new Error('closed during handshake'))
    const done = (error?: Error, result?: { frame: Record<string, unknown>; rest: Buffer }) => {
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('close', onClose)
      socket.pause()
      if (error) reject(error)
      else resolve(result!)
    }
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

