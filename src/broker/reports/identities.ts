// `jit report identities`: every identity the broker knows, with its owner, when it was created
// and last used, what it could be granted without approval today, what it holds now, and flags.
// Each kind of identity comes from one source (IDENTITY_SOURCES); the report names the sources
// it read, so a new kind is one more source.
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { assetMatches, whoMatches } from '../../policy/evaluate.js'
import type { Policy } from '../../policy/types.js'
import { CA_KEY_FILE, NEXT_CA_KEY_FILE, PREVIOUS_CA_KEY_FILE } from '../ssh-ca/ca-key.js'
import type { UserRecord } from '../store/records.js'
import type { Store } from '../store/store.js'
import type { Identity, IdentityFlag, IdentityKind, IdentityReport, Reach } from '../../wire/reports.js'
import {
  activeHoldings, gatewaysAnnounced, lastChecksByVerifier, lastOfType, lastRequests, lastSessionsByDevice, renewedSessions, userCreated, verifierTokenDates,
} from './identity-reads.js'

export interface IdentityOptions {
  unusedDays: number
  keyDays: number
  nowMs: number
  policy?: Policy
  /** The broker's data folder, for its key files. */
  dataDir?: string
}

export const MAX_REACH_ASSETS = 50

interface SourceFacts {
  store: Store
  options: IdentityOptions
  users: Map<string, UserRecord>
  holdings: Awaited<ReturnType<typeof activeHoldings>>
  renewed: Set<string>
  assets: string[]
}

type Source = { kinds: IdentityKind[]; read: (facts: SourceFacts) => Promise<Identity[]> }

const blank = { owner: null, lastUsed: null, keyCreated: null, reach: [], holds: [], flags: [] as IdentityFlag[] }

const people: Source = {
  kinds: ['person'],
  read: async ({ store, options, users, holdings, assets }) => {
    const [created, last] = await Promise.all([userCreated(store), lastRequests(store)])
    return [...users.values()].map((user) => ({
      ...blank,
      kind: 'person',
      id: user.name,
      owner: user.org ?? null,
      state: user.disabled ? 'disabled' : 'active',
      created: created.get(user.name) ?? null,
      lastUsed: last.get(user.name) ?? null,
      reach: options.policy ? reachOf(options.policy, user, assets) : [],
      holds: holdings.filter((h) => h.user === user.name).map((h) => h.holding),
    }))
  },
}

const devices: Source = {
  kinds: ['device'],
  read: async ({ store, holdings }) => {
    const last = await lastSessionsByDevice(store)
    return (await store.devices.list()).map((device) => ({
      ...blank,
      kind: 'device',
      id: device.id,
      owner: device.user,
      state: device.revokedAt ? 'revoked' : 'active',
      created: device.createdAt,
      keyCreated: device.createdAt,
      lastUsed: last.get(device.id) ?? null,
      holds: holdings.filter((h) => h.device === device.id).map((h) => h.holding),
    }))
  },
}

/** Verifiers and gateways: a gateway is a verifier that announced itself. */
const verifiers: Source = {
  kinds: ['verifier', 'gateway'],
  read: async ({ store }) => {
    const [checks, tokens, gateways] = await Promise.all([lastChecksByVerifier(store), verifierTokenDates(store), gatewaysAnnounced(store)])
    return (await store.verifiers.list()).map((verifier) => {
      const gateway = gateways.get(verifier.name)
      const used = [checks.get(verifier.name), gateway?.announcedAt].filter((at): at is string => at !== undefined).sort()
      return {
        ...blank,
        kind: gateway ? 'gateway' : 'verifier',
        id: verifier.name,
        state: 'active',
        created: verifier.createdAt,
        keyCreated: tokens.get(verifier.name) ?? verifier.createdAt,
        lastUsed: used[used.length - 1] ?? null,
      }
    })
  },
}

/** The broker's own keys, from its data folder: the token signing key and the SSH CA keys. */
const keys: Source = {
  kinds: ['signing-key', 'ssh-ca-key'],
  read: async ({ store, options }) => {
    if (!options.dataDir) return []
    const files: [IdentityKind, string, Identity['state'], string][] = [
      ['signing-key', 'signing-key.pem', 'active', 'session.issued'],
      ['ssh-ca-key', CA_KEY_FILE, 'active', 'ssh.certificate.issued'],
      ['ssh-ca-key', PREVIOUS_CA_KEY_FILE, 'previous', 'ssh.certificate.issued'],
      ['ssh-ca-key', NEXT_CA_KEY_FILE, 'next', 'ssh.certificate.issued'],
    ]
    const found: Identity[] = []
    for (const [kind, file, state, useType] of files) {
      const path = join(options.dataDir, file)
      if (!existsSync(path)) continue
      const made = statSync(path).mtime.toISOString()
      found.push({ ...blank, kind, id: file, owner: 'broker', state, created: made, keyCreated: made, lastUsed: state === 'active' ? (await lastOfType(store, useType)) ?? null : null })
    }
    return found
  },
}

export const IDENTITY_SOURCES: Source[] = [people, devices, verifiers, keys]

/** Per rule that needs no approval and names the person: the inventory's assets and the scopes it would grant (before ticket, time and attribute conditions). */
export function reachOf(policy: Policy, user: UserRecord, assets: string[]): Reach[] {
  const reach: Reach[] = []
  for (const rule of policy.rules) {
    if ((rule.approval?.count ?? 0) > 0 || !whoMatches(rule, user)) continue
    const matched = assets.filter((path) => assetMatches(rule, path))
    if (matched.length === 0) continue
    reach.push({ rule: rule.name, scopes: rule.scopes, assets: matched.slice(0, MAX_REACH_ASSETS), moreAssets: Math.max(0, matched.length - MAX_REACH_ASSETS) })
  }
  return reach
}

const DAY_MS = 86_400_000
const olderThan = (at: string | null, days: number, nowMs: number) => at !== null && Date.parse(at) < nowMs - days * DAY_MS

/** The flags of one identity: one test per flag. */
export function flagsOf(identity: Identity, options: IdentityOptions, ownerDisabled: boolean, renewed: boolean): IdentityFlag[] {
  const flags: IdentityFlag[] = []
  const usable = identity.state === 'active'
  if (usable && identity.lastUsed === null) flags.push('never-used')
  if (usable && olderThan(identity.lastUsed ?? identity.created, options.unusedDays, options.nowMs)) flags.push('unused')
  if (ownerDisabled) flags.push('owner-disabled')
  if (usable && olderThan(identity.keyCreated, options.keyDays, options.nowMs)) flags.push('old-key')
  if (usable && (identity.kind === 'verifier' || identity.kind === 'gateway' || renewed)) flags.push('standing')
  return flags
}

export async function identityReport(store: Store, options: IdentityOptions): Promise<IdentityReport> {
  const users = new Map((await store.users.list()).map((user) => [user.name, user]))
  const facts: SourceFacts = {
    store,
    options,
    users,
    holdings: await activeHoldings(store, options.nowMs / 1000),
    renewed: await renewedSessions(store),
    assets: options.policy ? (await store.assets.list()).map((asset) => asset.path) : [],
  }
  const identities: Identity[] = []
  for (const source of IDENTITY_SOURCES) {
    for (const identity of await source.read(facts)) {
      const owner = identity.kind === 'device' && identity.owner ? users.get(identity.owner) : undefined
      const renewed = identity.holds.some((h) => facts.renewed.has(h.session))
      identities.push({ ...identity, flags: flagsOf(identity, options, owner?.disabled === true, renewed) })
    }
  }
  return {
    at: new Date(options.nowMs).toISOString(),
    sources: IDENTITY_SOURCES.flatMap((source) => source.kinds).filter((kind) => options.dataDir || !kind.endsWith('-key')),
    unusedDays: options.unusedDays,
    keyDays: options.keyDays,
    reachEvaluated: options.policy !== undefined,
    identities,
  }
}
