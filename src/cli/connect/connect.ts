// `jit connect`: a session on an asset (a live cached one for the same asset, scope and ticket, or
// a new one), a loopback port tunnelled to the asset through its gateway, and the end of it all:
// with a command, when the command ends (the jit exec guarantees: signals forwarded, revoke on
// every exit path, heartbeats); without one, on Ctrl-C, SIGTERM or SIGHUP, or when the broker
// ends the session. Either way the session is revoked.
import type { CliContext } from '../context.js'
import type { AccessParams } from '../sessions/request-access.js'
import type { Grant, HeartbeatResult } from '../../wire/api.js'
import type { AssetGateway } from '../../wire/gateway.js'
import { ExitCode, UsageError } from '../../errors.js'
import { printable } from '../../util/printable.js'
import { sessionEndingSignals } from '../../util/exit-signals.js'

export interface ConnectOptions extends AccessParams {
  localPort: number
  timeout: string
  quiet: boolean
}

export interface ConnectResult {
  sessionId: string
  asset: string
  gateway: string
  localPort: number
  reused: boolean
  exitCode: number
  signal?: string
  revoked: boolean
  revocationPending: boolean
  /** Set when the broker ended the session first: "revoked by WHO: REASON" or "expired". */
  endedByBroker?: string
}

/** How the broker says a session ended: who revoked it and why, or that its time ran out. */
function brokerEnd(r: HeartbeatResult): string {
  if (r.state === 'revoked') return `revoked${r.endedBy ? ` by ${r.endedBy}` : ''}${r.endReason ? `: ${r.endReason}` : ''}`
  return r.state
}

export async function connectAndRun(cli: CliContext, argv: string[], options: ConnectOptions): Promise<ConnectResult> {
  const [{ listenLocal }, { jtiOf }, { ui }] = await Promise.all([import('./local-port.js'), import('./tunnel-client.js'), import('../output.js')])
  const say = (fn: () => void) => options.quiet || fn()
  const { grant, reused } = await sessionFor(cli, options)
  const client = await cli.client()
  let tunnelCut = () => {}
  let gateway: AssetGateway
  let local
  try {
    gateway = await client.get<AssetGateway>(`/sessions/${encodeURIComponent(grant.session.id)}/gateway`)
    const key = await cli.deviceKey()
    // A tunnel the gateway cuts may mean the session has ended: the broker is asked at once
    // (a heartbeat) rather than at the next beat, up to a third of the grace period later.
    local = await listenLocal(options.localPort, { gateway, credential: grant.credential, jti: jtiOf(grant.credential), privateKey: key.privateKey }, ui, { onTunnelCut: () => tunnelCut() })
  } catch (error) {
    // Nothing was tunnelled: the session opened for this ends now.
    const { endSession } = await import('../sessions/run-with-credential.js')
    await endSession(cli, grant.session.id, 'jit connect could not open its local port or find the gateway', { revoked: false, revocationPending: false }, { cache: reused }).catch(() => {})
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`Local port ${options.localPort} is already in use.`, ['Pick another with --local-port, or 0 for any free one.'])
    throw error
  }
  const result: ConnectResult = {
    sessionId: grant.session.id, asset: grant.session.asset, gateway: gateway.gateway, localPort: local.port, reused, exitCode: 0, revoked: false, revocationPending: false,
  }
  // Said even under --json (on stderr): without it nobody could find a port picked at random.
  ui.info(`Session ${grant.session.id} (${grant.session.scope} on ${grant.session.asset}): listening on 127.0.0.1:${local.port}, tunnelled through gateway ${gateway.gateway}.`)
  const onEnded = (r: HeartbeatResult) => {
    result.endedByBroker = brokerEnd(r)
    ui.warn(printable(`Session ${r.sessionId} ${r.state === 'revoked' ? 'was ' : ''}${result.endedByBroker}; the gateway has closed its connections.`))
  }
  try {
    if (argv.length > 0) {
      const { runWithCredential } = await import('../sessions/run-with-credential.js')
      const run = await runWithCredential(cli, grant, argv, {
        cache: false,
        credentialInEnv: false,
        env: { JIT_LOCAL_PORT: String(local.port), JIT_LOCAL_ADDRESS: `127.0.0.1:${local.port}` },
        onEndedElsewhere: onEnded,
      })
      Object.assign(result, { exitCode: run.exitCode, signal: run.signal, revoked: run.revoked, revocationPending: run.revocationPending })
    } else {
      say(() => ui.info('Ctrl-C ends the session.'))
      await untilInterrupted(cli, grant, result, onEnded, reused, (beatNow) => (tunnelCut = beatNow))
      // Nothing of the person's ran to give an exit code: the session's end is the answer, as
      // for a session that ends before a wrapped command could start (exit 4).
      if (result.endedByBroker !== undefined) result.exitCode = ExitCode.notApproved
    }
  } finally {
    await local.close()
  }
  say(() => {
    if (result.revoked && result.endedByBroker === undefined) ui.ok(`Revoked session ${result.sessionId}; the tunnel is closed.`)
    if (result.revocationPending) ui.warn(`Broker unreachable: revocation of ${result.sessionId} is queued and will be retried on every jit run (or now: jit revoke --pending).`)
  })
  return result
}

/** A live cached session for the same asset, scope and ticket on this device, else a new one. */
async function sessionFor(cli: CliContext, options: ConnectOptions): Promise<{ grant: Grant; reused: boolean }> {
  const cache = cli.cache()
  // The index holds ids only; each live entry's session is read from the keychain to compare.
  for (const { sessionId } of await cache.list().catch(() => [])) {
    const match = await cache.get(sessionId).catch(() => undefined)
    if (!match || match.session.asset !== options.asset || match.session.scope !== options.scope || match.session.ticket !== options.ticket || match.session.state !== 'active') continue
    // The cache may not know yet that the session has ended elsewhere: ask the broker.
    const { session } = await (await cli.client()).get<{ session: { state: string } }>(`/sessions/${encodeURIComponent(match.session.id)}`)
    if (session.state === 'active') return { grant: { session: match.session, credential: match.credential, expiresIn: Math.max(0, cache.msLeft(match) / 1000) }, reused: true }
    await cache.delete(match.session.id)
  }
  const { requestHeldInMemory } = await import('../sessions/request-access.js')
  const grant = await requestHeldInMemory(cli, options, options.timeout)
  return { grant, reused: false }
}

const SIGNALS = sessionEndingSignals()

/** Holds the tunnel open until a signal or the broker's end of the session, then revokes. */
async function untilInterrupted(cli: CliContext, grant: Grant, result: ConnectResult, onEnded: (r: HeartbeatResult) => void, reused: boolean, onBeating: (beatNow: () => void) => void): Promise<void> {
  const [{ startHeartbeat }, { endSession }] = await Promise.all([import('../sessions/heartbeat.js'), import('../sessions/run-with-credential.js')])
  let wake!: () => void
  const woken = new Promise<void>((resolve) => (wake = resolve))
  // Installed before the first heartbeat and kept until the revoke is done: no signal skips it.
  const listeners = SIGNALS.map((signal) => [signal, () => {
    result.signal ??= signal
    wake()
  }] as const)
  for (const [signal, listener] of listeners) process.on(signal, listener)
  try {
    const heartbeat = await startHeartbeat(await cli.client(), grant.session.id, {
      onEnded: (r) => {
        onEnded(r)
        wake()
      },
    })
    onBeating(() => heartbeat.beatNow())
    const keepAlive = setInterval(() => {}, 1 << 30)
    await woken
    clearInterval(keepAlive)
    heartbeat.stop()
  } finally {
    const reason = result.signal ? `jit connect ended (${result.signal})` : 'jit connect ended'
    try {
      await endSession(cli, grant.session.id, reason, result, { cache: reused })
    } finally {
      for (const [signal, listener] of listeners) process.removeListener(signal, listener)
    }
  }
  if (result.signal) result.exitCode = 0
}
