// One tunnel through a gateway: TLS to the address the broker gave for the session's asset, the
// gateway's certificate pinned to the fingerprint the broker vouched for, then the handshake:
// the gateway's challenge, signed with this device's key together with the credential, its id,
// the asset and the gateway's name (a proof of possession, src/wire/proof-of-possession.ts). Resolves with the socket (and any bytes that came after "ok").
import { createHash, type KeyObject } from 'node:crypto'
import { connect, type TLSSocket } from 'node:tls'
import { TUNNEL_SOCKET_BUFFER_BYTES, encodeFrame, type AssetGateway, type TunnelOpen, type TunnelReply } from '../../wire/gateway.js'
import { signPossessionProof } from '../../wire/proof-of-possession.js'
import { FrameReader } from '../../wire/tunnel-frames.js'

export class TunnelRefusedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
  }
}

export interface TunnelTarget {
  gateway: AssetGateway
  credential: string
  jti: string
  privateKey: KeyObject
}

const HANDSHAKE_TIMEOUT_MS = 15_000

export function jtiOf(credential: string): string {
  const payload = JSON.parse(Buffer.from(credential.split('.')[1] ?? '', 'base64url').toString()) as { jti?: string }
  if (typeof payload.jti !== 'string') throw new Error('the credential has no jti')
  return payload.jti
}

export function openTunnel(target: TunnelTarget): Promise<{ socket: TLSSocket; early: Buffer }> {
  const match = /^(.*):(\d+)$/.exec(target.gateway.address)
  if (!match) return Promise.reject(new Error(`gateway address ${target.gateway.address} is not HOST:PORT`))
  const host = match[1].replace(/^\[|\]$/g, '')
  return new Promise((resolve, reject) => {
    // The certificate is checked below against the broker's pin, not against a CA.
    // (Node takes highWaterMark for a client socket too; its types name it only for servers.)
    const buffer = { highWaterMark: TUNNEL_SOCKET_BUFFER_BYTES }
    const socket = connect({ host, port: Number(match[2]), rejectUnauthorized: false, servername: isIp(host) ? undefined : host, ...buffer })
    socket.setNoDelay(true)
    const reader = new FrameReader()
    let stage: 'tls' | 'challenge' | 'reply' = 'tls'
    const timer = setTimeout(() => fail(new Error('the gateway did not complete the handshake in time')), HANDSHAKE_TIMEOUT_MS)
    const fail = (error: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(error)
    }
    socket.once('secureConnect', () => {
      const presented = createHash('sha256').update(socket.getPeerX509Certificate()?.raw ?? Buffer.alloc(0)).digest('hex')
      if (presented !== target.gateway.certSha256) return fail(new Error(`gateway ${target.gateway.gateway} at ${target.gateway.address} presented a certificate the broker does not vouch for`))
      stage = 'challenge'
    })
    socket.on('error', (error) => fail(new Error(`cannot reach gateway ${target.gateway.gateway} at ${target.gateway.address}: ${error.message}`)))
    socket.once('close', () => fail(new Error(`gateway ${target.gateway.gateway} closed the connection during the handshake`)))
    const onData = (chunk: Buffer) => {
      let result
      try {
        result = reader.push(chunk)
      } catch (error) {
        return fail(error as Error)
      }
      if (!result) return
      if (stage === 'challenge') {
        const challenge = result.frame as { type?: string; nonce?: string; gateway?: string }
        if (challenge.type !== 'challenge' || typeof challenge.nonce !== 'string' || challenge.gateway !== target.gateway.gateway) return fail(new Error('the gateway sent no valid challenge'))
        const open: TunnelOpen = {
          type: 'open',
          asset: target.gateway.asset,
          token: target.credential,
          proof: signPossessionProof(target.privateKey, {
            challenge: challenge.nonce,
            verifier: target.gateway.gateway,
            token: target.credential,
            jti: target.jti,
            asset: target.gateway.asset,
            nowEpoch: Date.now() / 1000,
          }),
        }
        stage = 'reply'
        socket.write(encodeFrame(open))
        // A new reader for the reply: the challenge frame is consumed.
        reader.reset(result.rest)
        if (result.rest.length > 0) onData(Buffer.alloc(0))
        return
      }
      const reply = result.frame as unknown as TunnelReply
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeAllListeners('close')
      socket.removeAllListeners('error')
      socket.on('error', () => {})
      if (reply.type === 'ok') {
        socket.pause()
        resolve({ socket, early: result.rest })
      } else {
        socket.destroy()
        reject(new TunnelRefusedError(String((reply as { code?: string }).code ?? 'refused'), `the gateway refused the tunnel: ${String((reply as { message?: string }).message ?? 'no reason given')}`))
      }
    }
    socket.on('data', onData)
  })
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}
