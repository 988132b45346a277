// Operator tasks on a broker's store: users, assets, enrollment codes, verifiers, offboarding. Run on
// the broker host (access to the data folder, or to the database's password, is the operator's
// credential); every change is audited. The store is the data folder's SQLite file or the
// PostgreSQL database the brokers share (operator.ts opens it).
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { isAssetPath } from '../policy/asset-pattern.js'
import { attributeProblems, factsOf, loadInventoryFile, type AssetAttributes } from '../policy/inventory.js'
import { PolicyLoadError, parsePolicy } from '../policy/load.js'
import type { KnownFacts } from '../policy/tools.js'
import { ASSET_STATES, type AssetState } from '../policy/types.js'
import { PolicyInvalidError, UsageError } from '../errors.js'
import { ApiError } from './api-error.js'
import { ReviewStore } from './breakglass/review-store.js'
import type { BrokerContext } from './context.js'
import { makeEnrollmentCode } from './enrollment.js'
import { Notifier } from './notifier.js'
import * as offboarding from './offboarding.js'
import * as workloads from './workloads/register.js'
import type { AssetRecord, UserRecord } from './store/records.js'
import { openStore as openBrokerStore } from './store/open.js'
import { SqliteStore } from './store/sqlite-store.js'
import type { Store } from './store/store.js'

const NAME = /^[a-z][a-z0-9._-]{0,63}$/
export const OPERATOR = `operator:${process.env.USER ?? 'local'}`

/** The data folder's SQLite file itself, synchronous (jit policy explain, tests that look inside it). */
export function openStore(dataDir: string): SqliteStore {
  return new SqliteStore(dataDir)
}

export async function addUser(store: Store, user: UserRecord): Promise<UserRecord> {
  if (!NAME.test(user.name)) throw new UsageError(`"${user.name}" is not a user name (lower-case letters, digits, . _ -).`)
  if (user.roles.length === 0) throw new UsageError('Give the user at least one role (--role).')
  for (const role of user.roles) if (!NAME.test(role)) throw new UsageError(`"${role}" is not a role name.`)
  await store.transaction(async (tx) => {
    await tx.users.upsert(user)
    await tx.appendAudit({ type: 'user.saved', actor: OPERATOR, data: { user: user.name, roles: user.roles, org: user.org ?? null } })
  })
  return user
}

export async function addAsset(store: Store, asset: AssetRecord): Promise<AssetRecord> {
  if (!isAssetPath(asset.path)) throw new UsageError(`"${asset.path}" is not an asset path (site/area/line/cell/asset, lower-case).`)
  const problems = attributeProblems(asset.attributes as AssetAttributes)
  if (problems.length > 0) throw new UsageError(`Asset ${asset.path}: ${problems.join('; ')}.`)
  await store.transaction(async (tx) => {
    await tx.assets.upsert(asset)
    await tx.appendAudit({ type: 'asset.saved', actor: OPERATOR, data: { asset: asset.path, attributes: asset.attributes } })
  })
  return asset
}

/** Loads an inventory file and saves every asset in it, all or nothing. */
export async function importInventory(store: Store, file: string): Promise<{ file: string; added: number; updated: number }> {
  let assets
  try {
    assets = loadInventoryFile(file)
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error
    throw new PolicyInvalidError(`${file} has ${error.problems.length} problem(s); nothing was imported.`, ['Fix each line named above and import again.'], {
      problems: error.problems,
      reasons: error.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`),
    })
  }
  const added = await store.transaction(async (tx) => {
    let fresh = 0
    for (const asset of assets) {
      if (!(await tx.assets.get(asset.path))) fresh++
      await tx.assets.upsert(asset)
    }
    await tx.appendAudit({ type: 'inventory.imported', actor: OPERATOR, data: { file, assets: assets.length, added: fresh } })
    return fresh
  })
  return { file, added, updated: assets.length - added }
}

/** The hook a plant system or shift lead uses: running, maintenance, stopped or offline. */
export async function setAssetState(store: Store, path: string, state: string, reason?: string): Promise<{ asset: string; state: AssetState; previous: string }> {
  if (!ASSET_STATES.includes(state as AssetState)) throw new UsageError(`"${state}" is not an asset state; use one of ${ASSET_STATES.join(', ')}.`)
  return store.transaction(async (tx) => {
    const asset = await tx.assets.get(path)
    if (!asset) throw new UsageError(`Asset ${path} is not in the inventory.`, ['jit admin asset list shows the inventory.'])
    const previous = String(asset.attributes.state ?? 'running')
    await tx.assets.upsert({ path, attributes: { ...asset.attributes, state } })
    await tx.appendAudit({ type: 'asset.state', actor: OPERATOR, data: { asset: path, state, previous, reason: reason ?? null } })
    return { asset: path, state: state as AssetState, previous }
  })
}

export async function enrollmentCode(store: Store, user: string, validSeconds: number): Promise<{ user: string; code: string; expiresAt: string }> {
  try {
    return { user, ...(await makeEnrollmentCode(store, user, validSeconds, OPERATOR)) }
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(error.message, error.extra.nextSteps ?? [])
    throw error
  }
}

/** A bearer token for a verifier (gateway, jump host) to call introspection. Shown once; only its hash is kept. */
export function addVerifier(store: Store, name: string): Promise<{ name: string; token: string }> {
  return asOperator(store, (ctx) => offboarding.addVerifier(ctx, OPERATOR, name))
}

// ---- offboarding, on the store (the same functions the admin API calls) ----------------

export const disableUser = (store: Store, name: string, reason?: string) => asOperator(store, (ctx) => offboarding.disableUser(ctx, OPERATOR, name, reason))
export const enableUser = (store: Store, name: string) => asOperator(store, (ctx) => offboarding.enableUser(ctx, OPERATOR, name))
export const listDevices = (store: Store, user?: string) => asOperator(store, (ctx) => offboarding.listDevices(ctx, user))
export const revokeDevice = (store: Store, deviceId: string, reason?: string) => asOperator(store, (ctx) => offboarding.revokeDevice(ctx, OPERATOR, deviceId, reason))
export const revokeEnrollmentCodes = (store: Store, user: string) => asOperator(store, (ctx) => offboarding.revokeEnrollmentCodes(ctx, OPERATOR, user))
export const listVerifiers = (store: Store) => asOperator(store, (ctx) => offboarding.listVerifiers(ctx))
export const rotateVerifier = (store: Store, name: string) => asOperator(store, (ctx) => offboarding.rotateVerifier(ctx, OPERATOR, name))
export const removeVerifier = (store: Store, name: string) => asOperator(store, (ctx) => offboarding.removeVerifier(ctx, OPERATOR, name))

// ---- the workload register, on the store (the same functions the admin API calls) ---------

export const addWorkload = (store: Store, spec: workloads.NewWorkload) => asOperator(store, (ctx) => workloads.addWorkload(ctx, OPERATOR, spec))
export const listWorkloads = (store: Store) => asOperator(store, (ctx) => workloads.listWorkloads(ctx))
export const showWorkload = (store: Store, name: string) => asOperator(store, (ctx) => workloads.showWorkload(ctx, name))
export const disableWorkload = (store: Store, name: string, reason?: string) => asOperator(store, (ctx) => workloads.disableWorkload(ctx, OPERATOR, name, reason))
export const enableWorkload = (store: Store, name: string) => asOperator(store, (ctx) => workloads.enableWorkload(ctx, OPERATOR, name))
export const removeWorkload = (store: Store, name: string) => asOperator(store, (ctx) => workloads.removeWorkload(ctx, OPERATOR, name))
export const workloadJoinToken = (store: Store, name: string, validSeconds: number) => asOperator(store, (ctx) => workloads.makeJoinToken(ctx, OPERATOR, name, validSeconds))

/**
 * Runs a broker function on the store as the operator. A running broker sees the change at once
 * (it reads users, devices and sessions from the store on every call). Break-glass sessions
 * ended here have their reviews fall due as opened; notifications go out only from the broker,
 * so prefer the admin API when one is running. On the data folder's SQLite file each transaction
 * commits on its own (no group commit). No offboarding function reads the broker's key files,
 * so the context names none.
 */
async function asOperator<T>(store: Store, fn: (ctx: BrokerContext) => Promise<T>): Promise<T> {
  const reviews = new ReviewStore(store)
  const ctx: BrokerContext = {
    store,
    dataDir: undefined as never,
    signingKey: undefined as never,
    issuer: '',
    trustDomain: '',
    policy: parsePolicy('version: 1\nrules: []\n'),
    events: new EventEmitter(),
    now: Date.now,
    reviews,
    notifier: new Notifier(reviews, [], () => {}),
  }
  try {
    return await fn(ctx)
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) throw new UsageError(error.message, error.extra.nextSteps ?? [])
    throw error
  }
}

/** What the data folder knows for jit policy explain: the user, the asset and who holds it at a time. */
export function knownFacts(dataDir: string, userName: string, assetPath: string): (at: number) => Promise<KnownFacts> {
  if (!existsSync(join(dataDir, 'broker.db'))) throw new UsageError(`${dataDir} is not a broker data folder (no broker.db).`)
  return async (at) => {
    const store = await openBrokerStore({ dataDir })
    try {
      const user = await store.users.get(userName)
      const asset = await store.assets.get(assetPath)
      const holders = await store.sessions.list({ asset: assetPath, activeOnly: true }, at / 1000)
      return {
        user: user && { name: user.name, roles: user.roles, org: user.org },
        asset: asset && factsOf(asset.path, asset.attributes),
        holders: holders.map((s) => ({ user: s.user, scope: s.scope, sessionId: s.id, until: s.expiresAt })),
      }
    } finally {
      await store.close()
    }
  }
}
