// Sessions: issuing the credential of an approved request, handing it to the requesting device,
// revoking, expiring, and token introspection (RFC 7662) for verifiers.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { onSessionEnded } from './breakglass/lifecycle.js'
import { recordSessionEnd } from './gateway/revocation-stream.js'
import { CREDENTIAL_SHAPE, type CredentialClaims } from '../wire/claims.js'
import { decodeJws, signatureHolds, signJwt } from '../util/jws.js'
import { newId } from '../util/ids.js'
import type { AccessRequest, Grant, IntrospectionResult } from '../wire/api.js'
import { ApiError, notFound } from './api-error.js'
import { overseenSession } from './session-oversight.js'
import { OVERSIGHT_ROLES, hasAnyRole, type Actor, type BrokerContext } from './context.js'
import { publicSession, type SessionRecord } from './store/records.js'
import { recordVerification } from './verifications.js'
import { verifyPossessionProof } from '../wire/proof-of-possession.js'
import type { ModbusGrant } from '../wire/gateway.js'
import { modbusGrant } from '../policy/modbus.js'
import { isWorkloadPrincipal } from './spiffe/spiffe-id.js'
import { onSessionEndedForTargets, openTargetAccount, type TargetRefusal } from './targets/accounts.js'

/** Creates the session of an approved request. Call inside the approving transaction. */
export async function openSession(ctx: BrokerContext, request: AccessRequest, cacheAllowed: boolean): Promise<SessionRecord> {
  const deviceJkt = await ctx.store.devices.jkt(request.deviceId)
  const issuedAtEpoch = Math.floor(ctx.now() / 1000)
  const expiresAtEpoch = issuedAtEpoch + request.ttlSeconds
  const session: SessionRecord = {
    id: newId('ses'),
    requestId: request.id,
    user: request.user,
    deviceId: request.deviceId,
    asset: request.asset,
    ticket: request.ticket,
    scope: request.scope,
    kind: request.kind,
    jti: newId('jti'),
    issuedAtEpoch,
    expiresAtEpoch,
    issuedAt: new Date(issuedAtEpoch * 1000).toISOString(),
    expiresAt: new Date(expiresAtEpoch * 1000).toISOString(),
    state: 'active',
    cacheAllowed,
  }
  await ctx.store.sessions.insert(session)
  request.sessionId = session.id
  const workload = isWorkloadPrincipal(request.user) ? await ctx.store.workloads.bySpiffeId(request.user) : undefined
  if (workload) await ctx.store.workloads.touch(workload.name, session.issuedAt)
  await ctx.store.appendAudit({
    type: 'session.issued',
    severity: request.kind === 'standard' ? 'info' : 'high',
    actor: request.user,
    sessionId: session.id,
    requestId: request.id,
    data: { asset: session.asset, scope: session.scope, ticket: session.ticket, kind: session.kind, expiresAt: session.expiresAt, deviceJkt, ...(workload ? { workload: workload.name, owner: workload.owner, intent: request.intent ?? null } : {}) },
  })
  return session
}

export async function credentialFor(ctx: BrokerContext, session: SessionRecord): Promise<string> {
  const claims: CredentialClaims = {
    iss: ctx.issuer,
    sub: session.user,
    aud: session.asset,
    sid: session.id,
    scope: session.scope,
    ticket: session.ticket,
    kind: session.kind,
    iat: session.issuedAtEpoch,
    nbf: session.issuedAtEpoch,
    exp: session.expiresAtEpoch,
    jti: session.jti,
    cnf: { jkt: await ctx.store.devices.jkt(session.deviceId) },
  }
  return signJwt(claims as unknown as Record<string, unknown>, ctx.signingKey.privateKey, { typ: CREDENTIAL_SHAPE.typ, kid: ctx.signingKey.kid })
}

/**
 * The grant of a live session, for the device that requested it and nobody else. `handOver`: the
 * grant's first delivery (the reply that opens it, the pickup of an approval), where the account
 * on the asset's target is made and its login travels along, once (targets/accounts.ts).
 */
export async function grantFor(ctx: BrokerContext, actor: Actor, session: SessionRecord, handOver = false): Promise<Grant | undefined> {
  if (session.deviceId !== actor.deviceId || session.state !== 'active') return undefined
  const target = handOver ? await openTargetAccount(ctx, session) : undefined
  if (target && 'refused' in target) await refuseForTarget(ctx, session, target)
  return {
    session: publicSession(session),
    credential: await credentialFor(ctx, session),
    expiresIn: Math.max(0, session.expiresAtEpoch - ctx.now() / 1000),
    ...(target && !('refused' in target) ? { target } : {}),
  }
}

/** A session whose target account could not be made opens nothing: it ends (cause target-failed) and the grant is refused. */
async function refuseForTarget(ctx: BrokerContext, session: SessionRecord, { refused, detail }: TargetRefusal): Promise<never> {
  await ctx.store.transaction(async (tx) => {
    const current = await tx.sessions.get(session.id, ctx.now() / 1000)
    if (current?.state === 'active') {
      await endSessionRecorded(ctx, current, { state: 'revoked', by: 'broker', reason: `target account not made: ${refused}`, severity: 'high', data: { cause: 'target-failed', reason: refused, detail } })
    }
  })
  throw new ApiError(502, 'target-failed', `No session opened: ${refused} (${detail}).`, {
    nextSteps: ['Ask the broker operator to check the target (its admin credential, that it is up).', 'Then ask again.'],
  })
}

export async function getSessionFor(ctx: BrokerContext, actor: Actor, id: string): Promise<SessionRecord> {
  const session = await ctx.store.sessions.get(id, ctx.now() / 1000)
  if (!session || (session.user !== actor.user.name && !hasAnyRole(actor.user, OVERSIGHT_ROLES))) throw notFound(`Session ${id}`)
  return session
}

/**
 * Ends an active session: the state change, its audit record, and what the end of a break-glass
 * session sets off (its review falls due, notifications). Call inside a transaction; false if
 * the session had already ended.
 */
export async function endSessionRecorded(
  ctx: BrokerContext,
  session: SessionRecord,
  end: { state: 'revoked' | 'expired'; by: string; reason: string; severity?: 'info' | 'high'; data?: Record<string, unknown> },
): Promise<boolean> {
  if (!(await ctx.store.sessions.end(session.id, end.state, end.by, end.reason))) return false
  await ctx.store.appendAudit({
    type: `session.${end.state}`,
    severity: end.severity ?? (session.kind === 'standard' ? 'info' : 'high'),
    actor: end.by,
    sessionId: session.id,
    requestId: session.requestId,
    data: end.data ?? {},
  })
  await recordSessionEnd(ctx, session, end.state, end.data)
  await onSessionEndedForTargets(ctx, session)
  await onSessionEnded(ctx, session, end.by, end.reason)
  return true
}

/** Ends a session for its holder, or for one with authority over it (session-oversight.ts): the end and its audit record name who ended it, and by what right. */
export async function revokeSession(ctx: BrokerContext, actor: Actor, id: string, reason: string): Promise<SessionRecord> {
  const { session, authority } = await overseenSession(ctx, actor, id)
  // A session past its expiry has ended already (the sweeper records it as expired): a revoke
  // that comes after must not rewrite that end as a revocation.
  if (session.state === 'active') {
    await ctx.store.transaction(async () => {
      await endSessionRecorded(ctx, session, { state: 'revoked', by: actor.user.name, reason, data: { reason, deviceId: actor.deviceId, authority } })
    })
  }
  ctx.notifier.kick()
  return (await ctx.store.sessions.get(id, ctx.now() / 1000))!
}

/** Marks sessions past expiry as expired, with an audit record each. Introspection does not wait for this. */
export async function sweepExpired(ctx: BrokerContext): Promise<number> {
  const nowEpoch = ctx.now() / 1000
  const ids = await ctx.store.sessions.pastExpiry(nowEpoch)
  if (ids.length === 0) return 0
  await ctx.store.transaction(async (tx) => {
    for (const id of ids) {
      await endSessionRecorded(ctx, (await tx.sessions.get(id, nowEpoch))!, { state: 'expired', by: 'broker', reason: 'ttl elapsed' })
    }
  })
  ctx.notifier.kick()
  return ids.length
}

let verifyKey: { kid: string; key: KeyObject } | undefined

/** A credential as the broker checks it: signed by this broker, its session live, inside its time window. Writes nothing. */
export async function checkCredential(ctx: BrokerContext, token: string): Promise<{ active: boolean; claims?: CredentialClaims; session?: SessionRecord }> {
  const jws = decodeJws(token, CREDENTIAL_SHAPE)
  if (!jws || jws.header.kid !== ctx.signingKey.kid) return { active: false }
  if (verifyKey?.kid !== ctx.signingKey.kid) verifyKey = { kid: ctx.signingKey.kid, key: createPublicKey(ctx.signingKey.privateKey) }
  if (!signatureHolds(jws, verifyKey.key)) return { active: false }
  // Signed by this broker, so made by credentialFor: the claims are a credential's.
  const claims = jws.claims as unknown as CredentialClaims
  const nowEpoch = ctx.now() / 1000
  const session = await ctx.store.sessions.byJti(claims.jti, nowEpoch)
  if (!session || session.id !== claims.sid) return { active: false }
  return { active: session.state === 'active' && claims.exp > nowEpoch && claims.nbf <= nowEpoch + 5, claims, session }
}

/**
 * RFC 7662, for verifiers only (`verifier` is the registered verifier's name): active only while
 * the signature holds, the session is live and the token is in its time window. With a proof of
 * possession (and the challenge the verifier gave the holder), also whether the holder proved it
 * has the device key the credential is bound to (`cnf.jkt`); a verifier that asked must refuse
 * when `possession.verified` is false.
 */
export async function introspect(ctx: BrokerContext, token: string, verifier: string, pop?: { proof: string; challenge: string }): Promise<IntrospectionResult> {
  const { active, claims, session } = await checkCredential(ctx, token)
  let possession: { verified: boolean; reason?: string } | undefined
  if (pop && claims) {
    const verdict = await verifyPossessionProof(pop.proof, { token, jti: claims.jti, asset: claims.aud, jkt: claims.cnf.jkt, challenge: pop.challenge, verifier, nowEpoch: ctx.now() / 1000 })
    possession = verdict.ok ? { verified: true } : { verified: false, reason: verdict.reason }
  } else if (pop) {
    possession = { verified: false, reason: 'the credential is not one this broker issued' }
  }
  if (session) await recordVerification(ctx, session, verifier, active, possession ? { possession: possession.verified } : {})
  if (!active || !claims) return possession ? { active: false, possession } : { active: false }
  const modbus = session ? await modbusGrantFor(ctx, session) : undefined
  return { ...claims, active: true, token_type: 'Bearer', client_id: claims.sub, username: claims.sub, ...(possession ? { possession } : {}), ...(modbus ? { modbus } : {}) }
}

/** For a session on a Modbus/TCP asset: what the rule that opened it lets its scope send (the current policy's rule of that name). */
async function modbusGrantFor(ctx: BrokerContext, session: SessionRecord): Promise<ModbusGrant | undefined> {
  const asset = await ctx.store.assets.get(session.asset)
  if (asset?.attributes.protocol !== 'modbus-tcp') return undefined
  const request = await ctx.store.requests.get(session.requestId)
  return modbusGrant(ctx.policy.rules.find((rule) => rule.name === request?.rule), session.scope)
}
