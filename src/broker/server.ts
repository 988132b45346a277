// Starts the embedded broker: data folder, signing key, policy, HTTP(S) listener, sweeper.
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { Notifier, type WebhookTarget } from './notifier.js'
import { flagOverdueReviews } from './breakglass/reviews.js'
import { loadPolicyFile } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import type { BrokerContext } from './context.js'
import { buildHttpApi, databaseAway, problemOf } from './http.js'
import { ApiError } from './api-error.js'
import { isDatabaseAway } from './store/postgres/errors.js'
import { reloadablePolicy } from './policy-reload.js'
import { expireStaleRequests } from './requests.js'
import { sweepExpired } from './sessions.js'
import { keepIdentitiesFresh } from './oidc/freshness.js'
import { DEFAULT_HEARTBEAT_GRACE_SECONDS, reapSilentSessions, startHeartbeatWatch } from './heartbeat.js'
import { nowMs as monotonicNowMs } from '../util/clock.js'
import { loadOrCreateSigningKey } from './signing-key.js'
import { ReviewStore } from './breakglass/review-store.js'
import { checkpointIfDue } from './audit-anchor.js'
import { SqliteAsyncStore } from './store/sqlite-async-store.js'
import { describeStore, openStore } from './store/open.js'
import { startTicketWatch } from './tickets/closing.js'
import { startTargetDuty } from './targets/duty.js'
import { describeDelivery, undeliverable } from './breakglass/notify-plan.js'
import { UsageError } from '../errors.js'
import { loadOrCreateSpiffeAuthority } from './spiffe/authority.js'
import { DEFAULT_TRUST_DOMAIN, trustDomainProblem } from './spiffe/spiffe-id.js'
import { PlantStateInterlock } from './plant-state.js'

export interface BrokerOptions {
  /** The key files, and the SQLite file unless database is given. */
  dataDir: string
  /** A PostgreSQL database shared by several brokers (store/open.ts). */
  database?: string
  databasePasswordFile?: string
  policyFile: string
  host: string
  port: number
  tlsCert?: string
  tlsKey?: string
  issuer?: string
  /** The SPIFFE trust domain of the workloads' IDs (default DEFAULT_TRUST_DOMAIN, as jit admin's). */
  trustDomain?: string
  /** Where break-glass notifications go. */
  webhooks?: WebhookTarget[]
  log?: (line: string) => void
  /** Reload the policy when its file changes (default true); SIGHUP reloads either way. */
  watchPolicy?: boolean
  /** Silence after which a wrapped session whose heartbeats stopped is revoked (default 60 s). */
  heartbeatGraceSeconds?: number
  /** Refuse to start when the break-glass section names a notification target nothing delivers (else a loud warning). */
  requireNotifyDelivery?: boolean
}

export interface RunningBroker {
  url: string
  ctx: BrokerContext
  /** Loads the policy file again; an invalid file leaves the current policy in force. */
  reloadPolicy(trigger: string): boolean
  close(): Promise<void>
}

const SWEEP_INTERVAL_MS = 1000

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`))
  const policy: Policy = loadPolicyFile(options.policyFile)
  const lostTargets = (next: Policy) => {
    const lost = undeliverable(next.breakGlass?.notify ?? [])
    return options.requireNotifyDelivery && lost.length > 0 ? `the break-glass section names notification targets that nothing delivers: ${lost.map((p) => `${p.target} (${p.problem})`).join('; ')}` : undefined
  }
  const lost = lostTargets(policy)
  if (lost) throw new UsageError(`${lost[0].toUpperCase()}${lost.slice(1)}.`, ['Change break_glass.notify in the policy, or start without --require-notify-delivery to run with a warning.'])
  const storeChoice = { dataDir: options.dataDir, database: options.database, passwordFile: options.databasePasswordFile }
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN
  const trustDomainWrong = trustDomainProblem(trustDomain)
  if (trustDomainWrong) throw new UsageError(`Trust domain "${trustDomain}" is not valid: ${trustDomainWrong}.`, ['Give --trust-domain a name such as plant-a.example.'])
  const signingKey = await loadOrCreateSigningKey(options.dataDir)
  const spiffe = await loadOrCreateSpiffeAuthority(options.dataDir, trustDomain)
  const store = await openStore(storeChoice)
  const events = new EventEmitter()
  events.setMaxListeners(0)
  const reviews = new ReviewStore(store)
  const notifier = new Notifier(reviews, options.webhooks ?? [], log)
  const heartbeat = { graceSeconds: options.heartbeatGraceSeconds ?? DEFAULT_HEARTBEAT_GRACE_SECONDS, monotonicMs: monotonicNowMs }
  const ctx: BrokerContext = { store, dataDir: options.dataDir, signingKey, issuer: options.issuer ?? '', trustDomain, spiffe, policy, events, now: Date.now, reviews, notifier, heartbeat }
  startHeartbeatWatch(ctx)

  const tls = options.tlsCert && options.tlsKey ? { cert: readFileSync(options.tlsCert), key: readFileSync(options.tlsKey) } : undefined
  const app = buildHttpApi(ctx, log, tls)
  // Group commit: one fsync for all the transactions of an event-loop turn, and no reply
  // (grant, read, error) leaves before what it may have seen is on disk.
  if (store instanceof SqliteAsyncStore) store.sqlite.enableGroupCommit()
  app.addHook('onSend', (request, reply, payload, done) => {
    const durable = store.whenDurable()
    if (!durable) return done(null, payload)
    durable.then(
      () => done(null, payload),
      (error: Error) => {
        // Not on disk: the reply it would have sent is withheld, and the caller told so.
        log(`error: ${request.method} ${request.url.split('?')[0]}: not durable: ${error.message}`)
        const problem = isDatabaseAway(error) ? databaseAway() : new ApiError(500, 'internal', 'The broker could not store this call; the operator can find details in its log.')
        reply.code(problem.status).type('application/problem+json')
        done(null, JSON.stringify(problemOf(problem)))
      },
    )
  })
  await app.listen({ host: options.host, port: options.port })
  const address = app.server.address() as { address: string; port: number }
  const hostForUrl = address.address.includes(':') ? `[${address.address}]` : address.address
  const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${address.port}`
  ctx.issuer = options.issuer ?? url

  // Each duty runs on one broker of the database at a time (always this one on the embedded file);
  // the others ask at every sweep, so one takes it over within a second of its holder's death.
  const interlock = new PlantStateInterlock()
  // Where the chain stands now: state changes from here on are followed.
  await interlock.follow(ctx)
  const sweep = async () => {
    if (await store.holdsDuty('expiry-sweeper')) {
      await sweepExpired(ctx)
      await expireStaleRequests(ctx)
      await store.seenAssertions.forgetExpired(Math.floor(Date.now() / 1000))
    }
    // Every broker watches heartbeats (it may take this duty over); the holder alone revokes.
    for (const id of await reapSilentSessions(ctx, log, SWEEP_INTERVAL_MS)) log(`revoked ${id}: its heartbeats stopped`)
    if (await store.holdsDuty('plant-state-interlock')) {
      for (const id of await interlock.follow(ctx)) log(`revoked ${id}: the state of its asset no longer allows it (plant-state)`)
    }
    if (await store.holdsDuty('review-flagger')) await flagOverdueReviews(ctx)
    if (await store.holdsDuty('oidc-refresher')) await keepIdentitiesFresh(ctx, log)
    void notifier.deliverDue()
    if (await store.holdsDuty('audit-checkpoint')) await checkpointIfDue(store, signingKey, ctx.issuer, Date.now(), log)
  }
  // One sweep at a time: a slow one (a busy store) is not overtaken by the next, and close() waits for it.
  let sweeping: Promise<void> | undefined
  const sweeper = setInterval(() => {
    if (sweeping) return
    sweeping = sweep()
      .catch((error: Error) => log(`error: sweeper: ${error.message}`))
      .finally(() => (sweeping = undefined))
  }, SWEEP_INTERVAL_MS)
  sweeper.unref()
  const ticketWatch = startTicketWatch(ctx, log)
  const targetDuty = await startTargetDuty(ctx, log)
  const policyReloader = reloadablePolicy(ctx, options.policyFile, log, {
    watch: options.watchPolicy ?? true,
    refuse: lostTargets,
    onReloaded: () => void announceDelivery(ctx, options.webhooks ?? [], log).catch((error: Error) => log(`error: ${error.message}`)),
  })

  await announceDelivery(ctx, options.webhooks ?? [], log)
  log(`broker listening on ${url} (${describeStore(storeChoice)}, policy ${options.policyFile}, ${policy.rules.length} rules, heartbeat grace ${heartbeat.graceSeconds}s, SPIFFE trust domain ${trustDomain})`)
  return {
    url,
    ctx,
    reloadPolicy: (trigger) => policyReloader.reload(trigger),
    async close() {
      policyReloader.close()
      clearInterval(sweeper)
      await sweeping
      await ticketWatch.stop()
      await targetDuty.stop()
      await app.close()
      await store.close()
    },
  }
}

/** Says at start which break-glass notification targets this broker delivers, and loudly which it cannot. */
async function announceDelivery(ctx: BrokerContext, webhooks: WebhookTarget[], log: (line: string) => void): Promise<void> {
  const notify = ctx.policy.breakGlass?.notify ?? []
  const users = (await ctx.store.users.list()).filter((u) => !u.disabled)
  const { lines, warnings } = describeDelivery(notify, webhooks, (role) => users.filter((u) => u.roles.includes(role)).length)
  const none = ctx.policy.breakGlass ? 'nothing is delivered' : 'none (the policy has no break-glass section)'
  log(`break-glass notifications: ${lines.length > 0 ? lines.join('; ') : none}`)
  for (const warning of warnings) log(`WARNING: break-glass notification ${warning}`)
}
