// The workload register: add, list, show, disable, enable, remove, and the one-time join token
// with which a host enrolls a workload's key pair. A workload's principal is a row of users named
// by its SPIFFE ID with no roles (so its key is a device and its sessions are sessions, ended and
// audited like anyone's); its workloads row says whose it is and how it proves itself. Each
// function runs the same from the admin API and on the data folder (admin.ts), audited.
import { createHash, randomBytes } from 'node:crypto'
import { newId, nowIso } from '../../util/ids.js'
import type { SessionInfo, WorkloadEnrollBody } from '../../wire/api.js'
import { jwkThumbprint } from '../../wire/proof-of-possession.js'
import { authFailed, badInput, conflict, notFound } from '../api-error.js'
import type { BrokerContext } from '../context.js'
import { endAccessOf, finishOffboarding } from '../offboarding.js'
import type { WorkloadRecord } from '../store/repositories/workloads.js'
import { isTrustDomain, spiffeIdOf, WORKLOAD_NAME } from '../spiffe/spiffe-id.js'

export const ATTESTATIONS = ['join-token'] as const
const GROUP = /^group:[a-z][a-z0-9._-]{0,63}$/

export interface WorkloadView extends WorkloadRecord {
  /** Active sessions it holds now. */
  activeSessions: number
}

export interface NewWorkload {
  name: string
  owner: string
  attest: string
  trustDomain: string
}

export async function addWorkload(ctx: BrokerContext, by: string, spec: NewWorkload): Promise<WorkloadRecord> {
  if (!WORKLOAD_NAME.test(spec.name)) throw badInput(`"${spec.name}" is not a workload name (lower-case letters, digits, . _ -).`)
  if (!isTrustDomain(spec.trustDomain)) throw badInput(`"${spec.trustDomain}" is not a trust domain (like plant-a.example).`)
  if (!(ATTESTATIONS as readonly string[]).includes(spec.attest)) throw badInput(`"${spec.attest}" is not an attestation method; use ${ATTESTATIONS.join(', ')}.`)
  const workload: WorkloadRecord = { name: spec.name, spiffeId: spiffeIdOf(spec.trustDomain, spec.name), owner: spec.owner, attest: spec.attest, disabled: false, createdAt: nowIso(ctx.now()) }
  await ctx.store.transaction(async (tx) => {
    if (!GROUP.test(spec.owner)) {
      const owner = await tx.users.get(spec.owner)
      if (!owner || owner.roles.length === 0) throw badInput(`The owner "${spec.owner}" is not a user of this broker.`, ['Name a person (jit admin user list) or a group as group:ROLE.'])
    }
    if (await tx.workloads.get(spec.name)) throw conflict(`Workload ${spec.name} exists already.`)
    if (await tx.users.get(workload.spiffeId)) throw conflict(`${workload.spiffeId} was a workload before; choose another name.`)
    // The principal: no roles, so no rule for people (roles, users, orgs) ever selects it.
    await tx.users.upsert({ name: workload.spiffeId, roles: [], disabled: false })
    await tx.workloads.add(workload)
    await tx.appendAudit({ type: 'workload.added', actor: by, data: { workload: spec.name, spiffeId: workload.spiffeId, owner: spec.owner, attest: spec.attest } })
  })
  return workload
}

async function existing(ctx: BrokerContext, name: string): Promise<WorkloadRecord> {
  const workload = await ctx.store.workloads.get(name)
  if (!workload) throw notFound(`Workload ${name}`)
  return workload
}

async function view(ctx: BrokerContext, workload: WorkloadRecord): Promise<WorkloadView> {
  const active = await ctx.store.sessions.list({ user: workload.spiffeId, activeOnly: true }, ctx.now() / 1000)
  return { ...workload, activeSessions: active.length }
}

export async function listWorkloads(ctx: BrokerContext): Promise<WorkloadView[]> {
  return Promise.all((await ctx.store.workloads.list()).map((w) => view(ctx, w)))
}

export async function showWorkload(ctx: BrokerContext, name: string): Promise<WorkloadView & { keys: { deviceId: string; createdAt: string; revokedAt?: string }[] }> {
  const workload = await existing(ctx, name)
  const keys = (await ctx.store.devices.list(workload.spiffeId)).map((d) => ({ deviceId: d.id, createdAt: d.createdAt, revokedAt: d.revokedAt }))
  return { ...(await view(ctx, workload)), keys }
}

/** Disabled: its principal is disabled too, its sessions end now (cause workload-disabled), its pending requests are cancelled. */
export async function disableWorkload(ctx: BrokerContext, by: string, name: string, reason = 'workload disabled'): Promise<{ workload: string; disabled: true; sessionsEnded: SessionInfo[]; requestsCancelled: string[] }> {
  const ended = await ctx.store.transaction(async (tx) => {
    const workload = await existing(ctx, name)
    await tx.workloads.setDisabled(name, true)
    await tx.users.upsert({ name: workload.spiffeId, roles: [], disabled: true })
    const ended = await endAccessOf(ctx, { user: workload.spiffeId }, by, 'workload-disabled', reason)
    await tx.appendAudit({ type: 'workload.disabled', severity: 'high', actor: by, data: { workload: name, spiffeId: workload.spiffeId, owner: workload.owner, reason, sessionsEnded: ended.sessions } })
    return ended
  })
  return { workload: name, disabled: true, ...(await finishOffboarding(ctx, ended)) }
}

export async function enableWorkload(ctx: BrokerContext, by: string, name: string): Promise<{ workload: string; disabled: false }> {
  await ctx.store.transaction(async (tx) => {
    const workload = await existing(ctx, name)
    await tx.workloads.setDisabled(name, false)
    await tx.users.upsert({ name: workload.spiffeId, roles: [], disabled: false })
    await tx.appendAudit({ type: 'workload.enabled', actor: by, data: { workload: name, spiffeId: workload.spiffeId } })
  })
  return { workload: name, disabled: false }
}

/** Removed: disabled for good (sessions end, keys revoked); its principal stays, disabled, for the audit trail. */
export async function removeWorkload(ctx: BrokerContext, by: string, name: string): Promise<{ workload: string; removed: true; sessionsEnded: SessionInfo[] }> {
  const disabled = await disableWorkload(ctx, by, name, 'workload removed')
  await ctx.store.transaction(async (tx) => {
    const workload = await existing(ctx, name)
    for (const key of await tx.devices.list(workload.spiffeId)) await tx.devices.revoke(key.id)
    await tx.workloads.remove(name)
    await tx.appendAudit({ type: 'workload.removed', severity: 'high', actor: by, data: { workload: name, spiffeId: workload.spiffeId } })
  })
  return { workload: name, removed: true, sessionsEnded: disabled.sessionsEnded }
}

export const hashJoinToken = (token: string) => createHash('sha256').update(`jit-join-token:${token.trim()}`).digest('hex')

/** A one-time join token for the workload, shown once; only its hash is kept. */
export async function makeJoinToken(ctx: BrokerContext, by: string, name: string, validSeconds: number): Promise<{ workload: string; token: string; expiresAt: string }> {
  if (!Number.isInteger(validSeconds) || validSeconds < 60 || validSeconds > 7 * 86400) throw badInput('A join token is valid between 1m and 7d.')
  const token = `jt_${randomBytes(24).toString('base64url')}`
  const expiresAtEpoch = Math.floor(ctx.now() / 1000) + validSeconds
  await ctx.store.transaction(async (tx) => {
    const workload = await existing(ctx, name)
    if (workload.disabled) throw conflict(`Workload ${name} is disabled; enable it first.`)
    await tx.workloads.addJoinToken(hashJoinToken(token), name, expiresAtEpoch)
    await tx.appendAudit({ type: 'workload.join-token-issued', actor: by, data: { workload: name, expiresAt: nowIso(expiresAtEpoch * 1000) } })
  })
  return { workload: name, token, expiresAt: nowIso(expiresAtEpoch * 1000) }
}

/** Enrolls a workload's public key with a join token: the key becomes a device of the workload's principal. */
export async function enrollWorkload(ctx: BrokerContext, body: WorkloadEnrollBody, sourceHost: string | undefined): Promise<{ deviceId: string; workload: string; spiffeId: string; issuer: string }> {
  const publicKey = { kty: body.publicKey.kty, crv: body.publicKey.crv, x: body.publicKey.x }
  const jkt = await jwkThumbprint(publicKey)
  return ctx.store.transaction(async (tx) => {
    const name = await tx.workloads.consumeJoinToken(hashJoinToken(body.token), Math.floor(ctx.now() / 1000))
    if (!name) throw authFailed('This join token is unknown, already used or expired. Ask the operator for a new one (jit admin workload join-token NAME).')
    const workload = (await tx.workloads.get(name))!
    if (workload.disabled) throw authFailed(`Workload ${name} is disabled.`)
    const deviceId = newId('dev')
    await tx.devices.add({ id: deviceId, user: workload.spiffeId, name: `workload ${name}`, publicJwk: publicKey, jkt, createdAt: nowIso(ctx.now()) })
    await tx.appendAudit({ type: 'workload.enrolled', actor: workload.spiffeId, data: { workload: name, owner: workload.owner, deviceId, jkt, sourceHost: sourceHost ?? null } })
    return { deviceId, workload: name, spiffeId: workload.spiffeId, issuer: ctx.issuer }
  })
}
