// The gateway at scale: revocation cut-off with many tunnels open at once. Real parts, bounded:
// a broker process (SQLite, fsync on commit), a `jit gateway start` process (TLS), a TCP service
// on loopback as the asset, and the bench process as the devices' side.
//
// 1,000 sessions are opened over the API, each with one tunnel through the gateway (jit connect's
// own tunnel client: TLS, proof of possession), every tunnel proven with a round trip. Then
// sessions are revoked at 100/s (one every 10 ms on a timer, not waiting for the previous answer)
// for 3 s, the rest staying open. For each revoke: from the broker's answer (it answers once the
// revoke is committed) to that tunnel's socket closing at the client, the brief's clock, and from
// sending it. The gateway's memory per tunnel is its resident set (/proc) with the tunnels open,
// less before any was opened, over the number of tunnels. Everything is closed at the end; every
// wait has a bound.
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { nowMs, percentile, type BenchOptions, type BenchRow, type Section } from '../lib.ts'
import { jtiOf, openTunnel } from '../../dist/src/cli/connect/tunnel-client.js'
import { ASSET, TICKET, removeDirs, startBrokerProcess, tempDir } from '../support.ts'
import { deviceApi, gatewayInFrontOf, startSink, type startGatewayProcess } from './gateway.ts'

const CUT_TARGET_P99_MS = 10
/** Tunnels opened at once while setting up (the broker and gateway see this many in flight). */
const OPENING_CONCURRENCY = 16
const CUT_WAIT_MS = 10_000

/** Resident set of a process in bytes, from /proc (Linux); undefined elsewhere. */
function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

interface OpenTunnel {
  sessionId: string
  socket: Socket
  closed: Promise<number>
}

const gatewayScale: Section = async (options: BenchOptions): Promise<BenchRow[]> => {
  const tunnels = options.quick ? 20 : 1000
  const revocationsPerSecond = 100
  const revocations = options.quick ? 10 : 300
  const dir = tempDir('jit-bench-gw-scale-')
  const sink = await startSink(Number.MAX_SAFE_INTEGER)
  const broker = await startBrokerProcess(options.root)
  let gw: Awaited<ReturnType<typeof startGatewayProcess>> | undefined
  const open: OpenTunnel[] = []
  try {
    gw = await gatewayInFrontOf(options.root, broker, sink.port, dir)
    const device = await broker.enrollDevice('bench-gw-scale-device')
    const api = deviceApi(broker, device)
    const rssBefore = rssBytes(gw.pid)

    const openOne = async (): Promise<OpenTunnel> => {
      const { grant } = await api<{ grant: { session: { id: string }; credential: string } }>('POST', '/requests', { ticket: TICKET, asset: ASSET, scope: 'diagnose', ttlSeconds: 1800, reason: 'bench at scale' })
      const gateway = await api<Parameters<typeof openTunnel>[0]['gateway']>('GET', `/sessions/${grant.session.id}/gateway`)
      const { socket } = await openTunnel({ gateway, credential: grant.credential, jti: jtiOf(grant.credential), privateKey: device.privateKey })
      socket.on('error', () => {})
      // The tunnel client hands the socket over paused: flowing again, or the answer never shows.
      socket.resume()
      await new Promise<void>((resolve, reject) => {
        socket.once('data', () => resolve())
        socket.once('close', () => reject(new Error('a tunnel closed before the asset answered')))
        socket.write('ping\n')
      })
      return { sessionId: grant.session.id, socket, closed: new Promise<number>((resolve) => socket.once('close', () => resolve(nowMs()))) }
    }
    const openingStarted = nowMs()
    for (let next = 0; next < tunnels; ) {
      const batch = Math.min(OPENING_CONCURRENCY, tunnels - next)
      open.push(...(await Promise.all(Array.from({ length: batch }, openOne))))
      next += batch
    }
    const openingSeconds = (nowMs() - openingStarted) / 1000
    const rssOpen = rssBytes(gw.pid)

    // Revoke on a fixed schedule, whatever the answers' pace: the load is the rate, not a loop.
    const victims = open.slice(0, revocations)
    const samples = await Promise.all(
      victims.map(
        (tunnel, i) =>
          new Promise<{ fromAnswerMs: number; fromSendMs: number }>((resolve, reject) => {
            setTimeout(async () => {
              try {
                const sentAt = nowMs()
                await api('POST', `/sessions/${tunnel.sessionId}/revoke`, { reason: 'bench at scale' })
                const answeredAt = nowMs()
                const closedAt = await Promise.race([tunnel.closed, new Promise<number>((_, fail) => setTimeout(() => fail(new Error(`a tunnel was not cut within ${CUT_WAIT_MS / 1000} s of its revoke`)), CUT_WAIT_MS).unref())])
                resolve({ fromAnswerMs: closedAt - answeredAt, fromSendMs: closedAt - sentAt })
              } catch (error) {
                reject(error)
              }
            }, (i * 1000) / revocationsPerSecond)
          }),
      ),
    )
    // The sessions not revoked must still be open: a cut that hits the wrong tunnel is a bug, not speed.
    const wronglyClosed = open.slice(revocations).filter((tunnel) => tunnel.socket.destroyed || tunnel.socket.readyState !== 'open').length
    if (wronglyClosed > 0) throw new Error(`${wronglyClosed} tunnels of sessions that were not revoked were closed`)

    const fromAnswer = samples.map((s) => s.fromAnswerMs)
    const fromSend = samples.map((s) => s.fromSendMs)
    const perTunnel = rssBefore !== undefined && rssOpen !== undefined ? (rssOpen - rssBefore) / tunnels : Number.NaN
    return [
      {
        section: 'gateway-scale',
        name: `revoke committed → tunnel closed, ${tunnels} tunnels open, ${revocationsPerSecond} revocations/s`,
        value: percentile(fromAnswer, 50),
        unit: 'ms',
        p50: percentile(fromAnswer, 50),
        p99: percentile(fromAnswer, 99),
        target: `p99 < ${CUT_TARGET_P99_MS} ms`,
        met: options.quick ? undefined : percentile(fromAnswer, 99) < CUT_TARGET_P99_MS,
        note: `${revocations} revocations over ${(revocations / revocationsPerSecond).toFixed(1)} s; clock starts at the broker's answer (after the commit); negative = the cut arrived first; the other ${tunnels - revocations} tunnels checked still open`,
      },
      {
        section: 'gateway-scale',
        name: `revoke sent → tunnel closed, ${tunnels} tunnels open, ${revocationsPerSecond} revocations/s`,
        value: percentile(fromSend, 50),
        unit: 'ms',
        p50: percentile(fromSend, 50),
        p99: percentile(fromSend, 99),
        note: 'includes the revoke call itself (device assertion, commit with fsync)',
      },
      {
        section: 'gateway-scale',
        name: 'gateway memory per open tunnel',
        value: perTunnel / 1024,
        unit: 'KiB',
        note: `gateway RSS ${((rssBefore ?? Number.NaN) / 2 ** 20).toFixed(1)} MiB before, ${((rssOpen ?? Number.NaN) / 2 ** 20).toFixed(1)} MiB with ${tunnels} tunnels (TLS in, TCP to the asset); ${tunnels} tunnels opened in ${openingSeconds.toFixed(1)} s, ${OPENING_CONCURRENCY} at a time`,
      },
    ]
  } finally {
    for (const tunnel of open) tunnel.socket.destroy()
    await gw?.stop()
    await broker.stop()
    await sink.close()
    removeDirs(dir)
  }
}


export default gatewayScale
