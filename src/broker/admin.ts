// Operator tasks on a broker's data folder: users, assets, enrollment codes, verifiers. Run on
// the broker host (filesystem access is the operator's credential); every change is audited.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { isAssetPath } from '../policy/asset-pattern.js'
import { attributeProblems, factsOf, loadInventoryFile, type AssetAttributes } from '../policy/inventory.js'
import { PolicyLoadError } from '../policy/load.js'
import type { KnownFacts } from '../policy/tools.js'
import { ASSET_STATES, type AssetState } from '../policy/types.js'
import { PolicyInvalidError, UsageError } from '../errors.js'
import { ApiError } from './api-error.js'
import { makeEnrollmentCode } from './enrollment.js'
import { Store, type AssetRecord, type UserRecord } from './store/sqlite-store.js'

const NAME = /^[a-z][a-z0-9._-]{0,63}$/
export const OPERATOR = `operator:${process.env.USER ?? 'local'}`

export function openStore(dataDir: string): Store {
  return new Store(dataDir)
}

export function addUser(store: Store, user: UserRecord): UserRecord {
  if (!NAME.test(user.name)) throw new UsageError(`"${user.name}" is not a user name (lower-case letters, digits, . _ -).`)
  if (user.roles.length === 0) throw new UsageError('Give the user at least one role (--role).')
  for (const role of user.roles) if (!NAME.test(role)) throw new UsageError(`"${role}" is not a role name.`)
  store.transaction(() => {
    store.upsertUser(user)
    store.appendAudit({ type: 'user.saved', actor: OPERATOR, data: { user: user.name, roles: user.roles, org: user.org ?? null } })
  })
  return user
}

export function addAsset(store: Store, asset: AssetRecord): AssetRecord {
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
export function importInventory(store: Store, file: string): { file: string; added: number; updated: number } {
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
export function setAssetState(store: Store, path: string, state: string, reason?: string): { asset: string; state: AssetState; previous: string } {
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

export function enrollmentCode(store: Store, user: string, validSeconds: number): { user: string; code: string; expiresAt: string } {
  try {
    return { user, ...makeEnrollmentCode(store, user, validSeconds, OPERATOR) }
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(error.message, error.extra.nextSteps ?? [])
    throw error
  }
}

/** A bearer token for a verifier (gateway, jump host) to call introspection. Shown once; only its hash is kept. */
export function addVerifier(store: Store, name: string): { name: string; token: string } {
  if (!NAME.test(name)) throw new UsageError(`"${name}" is not a verifier name.`)
  const token = `jitv_${randomBytes(24).toString('base64url')}`
  store.transaction(() => {
    store.addVerifier(name, createHash('sha256').update(token).digest('hex'))
    store.appendAudit({ type: 'verifier.added', actor: OPERATOR, data: { verifier: name } })
  })
  return { name, token }
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
