// Issuing an SSH user certificate for a session: only for an active session held by the calling
// device, for the principals of the session's asset, valid no longer than the session, with the
// extensions of its scope. Each certificate is recorded and audited before it leaves the broker.
import { ED25519_CERT, SshFormatError, fingerprint, parseEd25519PublicKeyLine } from '../../util/ssh-wire.js'
import type { SshCertificateBody, SshCertificateResult } from '../../wire/ssh.js'
import { ApiError, badInput, conflict, forbidden } from '../api-error.js'
import type { Actor, BrokerContext } from '../context.js'
import { getSessionFor } from '../sessions.js'
import type { SshAuthority } from './authority.js'
import { signUserCertificate } from './certificate.js'
import { extensionsForScope } from './extensions.js'
import { sshTargetOf } from './target.js'

/** Tolerated clock skew between the broker and an SSH host: certificates start this much in the past. */
export const BACKDATE_SECONDS = 30

export async function issueSshCertificate(ctx: BrokerContext, ca: SshAuthority, actor: Actor, body: SshCertificateBody): Promise<SshCertificateResult> {
  let userKey: Buffer
  try {
    userKey = parseEd25519PublicKeyLine(body.publicKey)
  } catch (error) {
    if (error instanceof SshFormatError) throw badInput(`publicKey is not an Ed25519 public key: ${error.message}.`, ['Send one line as ssh-keygen writes it: ssh-ed25519 AAAA...'])
    throw error
  }
  const nowEpoch = Math.floor(ctx.now() / 1000)
  const session = await getSessionFor(ctx, actor, body.sessionId)
  // Only the device that holds the session may use it, whoever else may read it.
  if (session.deviceId !== actor.deviceId) throw forbidden('Only the device that holds the session can get an SSH certificate for it.')
  if (session.state !== 'active' || session.expiresAtEpoch <= nowEpoch) throw conflict(`Session ${session.id} is not active (${session.state}).`)
  const attributes = (await ctx.store.assets.get(session.asset))?.attributes
  const target = sshTargetOf(attributes)
  if (!target) {
    // bad-input (exit 2 at the CLI): the caller named an asset that cannot be reached over SSH.
    throw new ApiError(422, 'bad-input', `Asset ${session.asset} has no SSH endpoint with principals.`, {
      nextSteps: ['The operator sets its ssh host and principals in the inventory (ssh: { host, principals }).'],
    })
  }
  const key = ca.current()
  const fields = {
    publicKey: userKey,
    keyId: session.id,
    principals: target.principals,
    validAfter: nowEpoch - BACKDATE_SECONDS,
    validBefore: session.expiresAtEpoch,
    extensions: extensionsForScope(session.scope),
  }
  const keyFingerprint = fingerprint(userKey)
  const { serial, blob } = await ctx.store.transaction(async (tx) => {
    const serial = await ca.certificates.insert({ ...fields, sessionId: session.id, caFingerprint: key.fingerprint, keyFingerprint }, new Date(ctx.now()).toISOString())
    await tx.appendAudit({
      type: 'ssh.certificate.issued',
      severity: session.kind === 'standard' ? 'info' : 'high',
      actor: actor.user.name,
      sessionId: session.id,
      requestId: session.requestId,
      data: {
        serial,
        keyId: fields.keyId,
        principals: fields.principals,
        validAfter: iso(fields.validAfter),
        validBefore: iso(fields.validBefore),
        extensions: fields.extensions,
        caFingerprint: key.fingerprint,
        keyFingerprint,
        deviceId: actor.deviceId,
      },
    })
    // Signed inside the transaction: a certificate that could not be made leaves no record behind.
    return { serial, blob: signUserCertificate({ ...fields, serial: BigInt(serial) }, key) }
  })
  return {
    certificate: `${ED25519_CERT} ${blob.toString('base64')} ${session.id}`,
    serial,
    keyId: fields.keyId,
    principals: fields.principals,
    validAfter: iso(fields.validAfter),
    validBefore: iso(fields.validBefore),
    extensions: [...fields.extensions].sort(),
    caFingerprint: key.fingerprint,
    host: target.host,
    port: target.port,
    ...(typeof attributes?.gateway === 'string' ? { gateway: attributes.gateway } : {}),
  }
}

const iso = (epoch: number) => new Date(epoch * 1000).toISOString()
