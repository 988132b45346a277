// `jit ssh`: a session (opened now, or an active one of this device on the asset), an ephemeral
// Ed25519 key made in memory, a certificate for it from the broker's SSH CA, and the system's
// OpenSSH client run against the asset's ssh host with that certificate offered by jit's own agent;
// through the asset's gateway when it has one (gateway-route.ts), so that ending the session cuts
// the connection at once. No key or certificate is ever written to disk; the agent's socket folder
// is removed on every exit path. A session opened here is wrapped like `jit exec`'s (heartbeats,
// revoked however ssh ends); a borrowed one is left as it was, its certificate valid no longer than it.
import { generateKeyPairSync } from 'node:crypto'
import type { CliContext } from '../context.js'
import { UsageError } from '../../errors.js'
import { ED25519_CERT, SshFormatError, SshReader, ed25519Blob, publicKeyLine } from '../../util/ssh-wire.js'
import type { Grant, SessionInfo } from '../../wire/api.js'
import { SSH_CERTIFICATES_PATH, type SshCertificateBody, type SshCertificateResult } from '../../wire/ssh.js'
import type { PreparedCommand, RunResult } from '../sessions/run-with-credential.js'
import { startAgent } from './agent.js'
import { routeThroughGateway, type GatewayRoute } from './gateway-route.js'

export interface SshParams {
  asset: string
  /** With ticket and scope a new session is opened; without, an active one is reused. */
  ticket?: string
  scope?: string
  ttl: string
  reason?: string
  timeout: string
  /** Remote user; default the asset's first principal. */
  login?: string
  /** Passed to ssh as -o OPTION each. */
  sshOptions: string[]
  /** The remote command; none means an interactive login. */
  command: string[]
  quiet: boolean
}

export interface SshResult extends RunResult {
  asset: string
  /** Whether the session was opened (and so revoked) by this run. */
  sessionOpened: boolean
  certificate?: { serial: number; principals: string[]; validBefore: string; extensions: string[] }
  target?: { host: string; port: number; login: string }
  /** The gateway ssh went through, when the asset has one. */
  gateway?: string
}

export async function runSsh(cli: CliContext, params: SshParams): Promise<SshResult> {
  let certificate: SshCertificateResult | undefined
  let target: SshResult['target']
  let gateway: string | undefined
  const prepare = async (grant: Grant): Promise<PreparedCommand> => {
    const signed = await signEphemeralKey(cli, grant.session.id)
    certificate = signed
    target = { host: signed.host, port: signed.port, login: params.login ?? signed.principals[0] }
    const agent = await startAgent({ privateKey: signed.privateKey, certificate: signed.certBlob, comment: `jit ${grant.session.id}` })
    let route: GatewayRoute | undefined
    try {
      // An asset behind a gateway is never reached directly: no route, no ssh.
      if (signed.gateway) route = await routeThroughGateway(cli, grant, agent.dir)
    } catch (error) {
      await agent.close()
      throw error
    }
    gateway = route?.gateway
    if (route && !params.quiet) (await import('../output.js')).ui.info(`Through gateway ${route.gateway}: ending session ${grant.session.id} closes this connection at once.`)
    const env: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: agent.socketPath }
    const dispose = async () => {
      try {
        await route?.close()
      } finally {
        await agent.close()
      }
    }
    return { argv: sshArgv(target, agent.socketPath, params, route?.proxyCommand), env, dispose }
  }
  const label = `ssh to ${params.asset}`
  let result: RunResult
  let sessionOpened: boolean
  if (params.ticket && params.scope) {
    const { openAndRun } = await import('../sessions/wrapped.js')
    sessionOpened = true
    result = await openAndRun(cli, ['ssh'], {
      ticket: params.ticket,
      asset: params.asset,
      scope: params.scope,
      ttl: params.ttl,
      reason: params.reason ?? `jit ssh${params.command.length ? `: ${params.command.join(' ')}` : ''}`.slice(0, 500),
      timeout: params.timeout,
      // The certificate is the credential here; the session token stays in memory only.
      noCache: true,
      quiet: params.quiet,
      label,
      prepare,
      // Without a gateway, nothing else cuts an open connection when the session is revoked.
      stopWhenSessionEnds: true,
    })
  } else {
    const [{ runWithCredential }, { ui }] = await Promise.all([import('../sessions/run-with-credential.js'), import('../output.js')])
    const grant = await reusableSession(cli, params.asset)
    sessionOpened = false
    result = await runWithCredential(cli, grant, ['ssh'], {
      cache: false,
      ownsSession: false,
      prepare,
      onStarted: () => params.quiet || ui.info(`Using session ${grant.session.id} (${grant.session.scope} on ${grant.session.asset}); it stays open after ssh ends.`),
    })
  }
  return {
    ...result,
    asset: params.asset,
    sessionOpened,
    ...(certificate ? { certificate: { serial: certificate.serial, principals: certificate.principals, validBefore: certificate.validBefore, extensions: certificate.extensions } } : {}),
    ...(target ? { target } : {}),
    ...(gateway ? { gateway } : {}),
  }
}

/**
 * The ssh command line: the asset's host and port, the certificate from jit's agent only (never
 * forwarded), public-key authentication only, the gateway's relay as ProxyCommand when there is
 * one, then the caller's -o options and remote command. ssh keeps the first value it gets for an
 * option, so the caller's options cannot replace these.
 */
export function sshArgv(target: { host: string; port: number; login: string }, agentSocket: string, params: Pick<SshParams, 'sshOptions' | 'command'>, proxyCommand?: string): string[] {
  return [
    'ssh',
    '-p', String(target.port),
    '-l', target.login,
    '-o', `IdentityAgent=${agentSocket}`,
    '-o', 'ForwardAgent=no',
    '-o', 'PreferredAuthentications=publickey',
    ...(proxyCommand ? ['-o', `ProxyCommand=${proxyCommand}`] : []),
    ...params.sshOptions.flatMap((option) => ['-o', option]),
    // After --, ssh reads no more options: the host and the remote command stay what they are.
    '--',
    target.host,
    ...params.command,
  ]
}

/** A fresh Ed25519 key pair and the broker's certificate for it; the private key never leaves memory. */
export async function signEphemeralKey(cli: CliContext, sessionId: string): Promise<SshCertificateResult & { privateKey: import('node:crypto').KeyObject; certBlob: Buffer }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const body: SshCertificateBody = { sessionId, publicKey: publicKeyLine(ed25519Blob(publicKey)) }
  const answer = await (await cli.client()).post<SshCertificateResult>(SSH_CERTIFICATES_PATH, body)
  return { ...answer, privateKey, certBlob: certificateBlob(answer.certificate) }
}

function certificateBlob(line: string): Buffer {
  const [type, base64] = line.split(' ')
  const blob = Buffer.from(base64 ?? '', 'base64')
  if (type !== ED25519_CERT || new SshReader(blob).text() !== ED25519_CERT) throw new SshFormatError('the broker answered with something that is not an Ed25519 certificate')
  return blob
}

/** The active session of this device on the asset that lasts longest, with its grant. */
export async function reusableSession(cli: CliContext, asset: string): Promise<Grant> {
  const client = await cli.client()
  const { sessions } = await client.get<{ sessions: SessionInfo[] }>('/sessions')
  const mine = sessions
    .filter((s) => s.asset === asset && s.deviceId === cli.deviceId && s.state === 'active')
    .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt))
  for (const session of mine) {
    const { grant } = await client.get<{ grant?: Grant }>(`/sessions/${encodeURIComponent(session.id)}`)
    if (grant) return grant
  }
  throw new UsageError(`No active session of this device on ${asset}.`, [
    `Open one with: jit ssh ${asset} --ticket T --scope S (or jit request --ticket T --asset ${asset} --scope S).`,
  ])
}
