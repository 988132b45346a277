// Operator tasks on a broker's data folder: users, assets, enrollment codes, verifiers, offboarding. Run on
// the broker host (filesystem access is the operator's credential); every change is audited.
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
import { SqliteAsyncStore } from './store/sqlite-async-store.js'
import { SqliteStore, type AssetRecord, type UserRecord } from './store/sqlite-store.js'

const NAME = /^[a-z][a-z0-9._-]{0,63}$/
export const OPERATOR = `operator:${process.env.USER ?? 'local'}`

export function openStore(dataDir: string): SqliteStore {
  return new SqliteStore(dataDir)
}

export function addUser(store: SqliteStore, user: UserRecord): UserRecord {
  if (!NAME.test(user.name)) throw new UsageError(`"${user.name}" is not a user name (lower-case letters, digits, . _ -).`)
  if (user.roles.length === 0) throw new UsageError('Give the user at least one role (--role).')
  for (const role of user.roles) if (!NAME.test(role)) throw new UsageError(`"${role}" is not a role name.`)
  store.transaction(() => {
    store.upsertUser(user)
    store.appendAudit({ type: 'user.saved', actor: OPERATOR, data: { user: user.name, roles: user.roles, org: user.org ?? null } })
  })
  return user
}

export function addAsset(store: SqliteStore, asset: AssetRecord): AssetRecord {
  if (!isAssetPath(asset.path)) throw new UsageError(`"${asset.path}" is not an asset path (site/area/line/cell/asset, lower-case).`)
  const problems = attributeProblems(asset.attributes as AssetAttributes)
  if (problems.length > 0) throw new UsageError(`Asset ${asset.path}: ${problems.join('; ')}.`)
  store.transaction(() => {
    store.upsertAsset(asset)
    store.appendAudit({ type: 'asset.saved', actor: OPERATOR, data: { asset: asset.path, attributes: asset.attributes } })
  })
  return asset
}

/** Loads an inventory file and saves every asset in it, all or nothing. */
export function importInventory(store: SqliteStore, file: string): { file: string; added: number; updated: number } {
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
  let added = 0
  store.transaction(() => {
    for (const asset of assets) {
      if (!store.getAsset(asset.path)) added++
      store.upsertAsset(asset)
    }
    store.appendAudit({ type: 'inventory.imported', actor: OPERATOR, data: { file, assets: assets.length, added } })
  })
  return { file, added, updated: assets.length - added }
}

/** The hook a plant system or shift lead uses: running, maintenance, stopped or offline. */
export function setAssetState(store: SqliteStore, path: string, state: string, reason?: string): { asset: string; state: AssetState; previous: string } {
  if (!ASSET_STATES.includes(state as AssetState)) throw new UsageError(`"${state}" is not an asset state; use one of ${ASSET_STATES.join(', ')}.`)
  return store.transaction(() => {
    const asset = store.getAsset(path)
    if (!asset) throw new UsageError(`Asset ${path} is not in the inventory.`, ['jit admin asset list shows the inventory.'])
    const previous = String(asset.attributes.state ?? 'running')
    store.upsertAsset({ path, attributes: { ...asset.attributes, state } })
    store.appendAudit({ type: 'asset.state', actor: OPERATOR, data: { asset: path, state, previous, reason: reason ?? null } })
    return { asset: path, state: state as AssetState, previous }
  })
}

export function enrollmentCode(store: SqliteStore, user: string, validSeconds: number): { user: string; code: string; expiresAt: string } {
  try {
    return { user, ...makeEnrollmentCode(store, user, validSeconds, OPERATOR) }
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(error.message, error.extra.nextSteps ?? [])
    throw error
  }
}

/** A bearer token for a verifier (gateway, jump host) to call introspection. Shown once; only its hash is kept. */
export function addVerifier(store: SqliteStore, name: string): Promise<{ name: string; token: string }> {
  return asOperator(store, (ctx) => offboarding.addVerifier(ctx, OPERATOR, name))
}

// ---- offboarding, on the data folder (the same functions the admin API calls) ----------------

export const disableUser = (store: SqliteStore, name: string, reason?: string) => asOperator(store, (ctx) => offboarding.disableUser(ctx, OPERATOR, name, reason))
export const enableUser = (store: SqliteStore, name: string) => asOperator(store, (ctx) => offboarding.enableUser(ctx, OPERATOR, name))
export const listDevices = (store: SqliteStore, user?: string) => asOperator(store, (ctx) => offboarding.listDevices(ctx, user))
export const revokeDevice = (store: SqliteStore, deviceId: string, reason?: string) => asOperator(store, (ctx) => offboarding.revokeDevice(ctx, OPERATOR, deviceId, reason))
export const revokeEnrollmentCodes = (store: SqliteStore, user: string) => asOperator(store, (ctx) => offboarding.revokeEnrollmentCodes(ctx, OPERATOR, user))
export const listVerifiers = (store: SqliteStore) => asOperator(store, (ctx) => offboarding.listVerifiers(ctx))
export const rotateVerifier = (store: SqliteStore, name: string) => asOperator(store, (ctx) => offboarding.rotateVerifier(ctx, OPERATOR, name))
export const removeVerifier = (store: SqliteStore, name: string) => asOperator(store, (ctx) => offboarding.removeVerifier(ctx, OPERATOR, name))

/**
 * Runs a broker function on the data folder as the operator. A running broker sees the change at
 * once (it reads users, devices and sessions from the store on every call). Break-glass sessions
 * ended here have their reviews fall due as opened; notifications go out only from the broker,
 * so prefer the admin API when one is running. The broker functions take the asynchronous store;
 * here it wraps the data folder's SQLite file, without group commit (each transaction commits).
 */
async function asOperator<T>(sqlite: SqliteStore, fn: (ctx: BrokerContext) => Promise<T>): Promise<T> {
  const store = new SqliteAsyncStore(sqlite)
  const reviews = new ReviewStore(store)
  const ctx: BrokerContext = {
    store,
    dataDir: sqlite.dataDir,
    signingKey: undefined as never,
    issuer: '',
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
export function knownFacts(dataDir: string, userName: string, assetPath: string): (at: number) => KnownFacts {
  if (!existsSync(join(dataDir, 'broker.db'))) throw new UsageError(`${dataDir} is not a broker data folder (no broker.db).`)
  return (at) => {
    const store = openStore(dataDir)
    try {
      const user = store.getUser(userName)
      const asset = store.getAsset(assetPath)
      return {
        user: user && { name: user.name, roles: user.roles, org: user.org },
        asset: asset && factsOf(asset.path, asset.attributes),
        holders: store.listSessions({ asset: assetPath, activeOnly: true }, at / 1000).map((s) => ({ user: s.user, scope: s.scope, sessionId: s.id, until: s.expiresAt })),
      }
    } finally {
      store.close()
    }
  }
}
