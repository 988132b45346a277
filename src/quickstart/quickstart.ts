// `jit quickstart`: the main job on the embedded default, in one command. Starts a broker on a
// free loopback port with the demo plant in a folder of its own, enrolls this device, and walks
// one real session: request → approval → cached credential → a command run with it → revoke →
// the audit trail; then the policy at work, break-glass, a drill, and a connection through a
// gateway cut when its session is revoked. It keeps its own config folder, so the user's profiles are never touched.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addAsset, addUser, enrollmentCode } from '../broker/admin.js'
import { publicKeyOf, verifyAnchored } from '../broker/audit-anchor.js'
import { startBroker, type RunningBroker } from '../broker/server.js'
import { CliContext } from '../cli/context.js'
import { ui } from '../cli/output.js'
import { deviceAccount } from '../cli/device/device-key.js'
import { login } from '../cli/device/login.js'
import { KeychainError } from '../errors.js'
import { MemoryKeychain, SystemKeychain, type Keychain } from '../cli/keychain/keychain.js'
import { submitRequest, waitForDecision } from '../cli/sessions/request-access.js'
import { runWithCredential } from '../cli/sessions/run-with-credential.js'
import type { AuditEvent, AuditVerifyResult, IntrospectionResult, RequestResult } from '../wire/api.js'
import { breakGlass } from '../cli/breakglass/break-glass.js'
import { runDrill, type DrillReport } from '../cli/breakglass/drill.js'
import { DEMO_BREAK_GLASS, DEMO_POLICY, DEMO_REVIEW, DEMO_SESSION, DEMO_USERS, demoAssets } from './demo-plant.js'
import { policyTour, type PolicyTour } from './policy-tour.js'
import { registerDemoTickets, ticketTour, type TicketTour } from './ticket-tour.js'
import { gatewayTour, type GatewayTour } from './gateway-tour.js'
import { jitCommand } from '../util/self-command.js'

export interface QuickstartResult {
  dataDir: string
  broker: string
  keychain: 'os' | 'memory'
  requestId: string
  sessionId: string
  /** The demo devices, whose keys were removed from the keychain at the end. */
  deviceIds: string[]
  commandExitCode: number
  activeWhileRunning: boolean
  activeAfterRevoke: boolean
  auditEvents: number
  auditIntact: boolean
  policy: PolicyTour
  breakGlass: { sessionId: string; commandExitCode?: number; reviewState: string }
  drill: Pick<DrillReport, 'passed' | 'steps' | 'timeToAccessMs' | 'totalMs'>
  tickets: TicketTour
  gateway: GatewayTour
}

type Say = Record<'ok' | 'info' | 'warn' | 'step', (text: string) => void>

export async function quickstart(options: { quiet?: boolean } = {}): Promise<QuickstartResult> {
  const silent = () => {}
  const say: Say = options.quiet ? { ok: silent, info: silent, warn: silent, step: silent } : ui
  const home = mkdtempSync(join(tmpdir(), 'jit-quickstart-'))
  const dataDir = join(home, 'broker')
  // The demo's CLI side keeps its profiles here, not in the user's config.
  process.env.JIT_HOME = join(home, 'cli')

  say.step('1. A broker for a small demo plant')
  const policyFile = join(home, 'policy.yaml')
  writeFileSync(policyFile, DEMO_POLICY)
  const broker = await startBroker({ dataDir, policyFile, host: '127.0.0.1', port: 0, log: () => {} })
  try {
    // The operator's part (jit admin on the data folder), done here on the running broker's store, in turn with its calls.
    const assets = demoAssets()
    for (const user of Object.values(DEMO_USERS)) await addUser(broker.ctx.store, { ...user, roles: [...user.roles], disabled: false })
    for (const asset of assets) await addAsset(broker.ctx.store, asset)
    await registerDemoTickets(broker)
    say.ok(`Broker on ${broker.url}, data in ${dataDir}`)
    say.info(`Plant: ${assets.length} assets on lines 1 and 3; people: tess and tom (technicians), sam (shift lead), olga (line 1 owner), vic (vendor, ACME)`)

    say.step('2. Enroll this device')
    const keychain = await pickKeychain(say)
    const tess = await enroll(broker, keychain, DEMO_USERS.technician.name, 'tess')
    const sam = await enroll(broker, keychain, DEMO_USERS.approver.name, 'sam')
    const vic = await enroll(broker, keychain, DEMO_USERS.vendor.name, 'vic')
    const olga = await enroll(broker, keychain, DEMO_USERS.owner.name, 'olga')
    const tom = await enroll(broker, keychain, DEMO_USERS.colleague.name, 'tom')
    const everyone = [tess, sam, vic, olga, tom]
    say.ok(`Enrolled tess, sam, vic, olga and tom; their device keys are in the ${keychain instanceof SystemKeychain ? 'OS keychain' : 'process memory (no keychain here)'}`)

    say.step("3. tess asks for control of a PLC inside its maintenance window; policy says a shift lead must approve")
    const submitted: RequestResult = await submitRequest(tess, DEMO_SESSION)
    say.info(`Request ${submitted.request.id}: ${DEMO_SESSION.scope} on ${DEMO_SESSION.asset} for ${DEMO_SESSION.ttl}, ticket ${DEMO_SESSION.ticket} → ${submitted.request.state} (rule ${submitted.request.rule})`)
    const approval = (await sam.client()).post(`/requests/${submitted.request.id}/approve`, { comment: 'Line 3 is in maintenance; go ahead' })
    const [{ grant }] = await Promise.all([waitForDecision(tess, submitted.request.id, 60), approval])
    say.ok(`sam approved; session ${grant!.session.id} is open until ${grant!.session.expiresAt}`)

    say.step('4. tess runs a tool with the credential; jit revokes when it exits')
    const verifier = await introspector(broker)
    let activeWhileRunning = false
    const run = await runWithCredential(tess, grant!, DEMO_TOOL, {
      cache: true,
      onStarted: () => say.info(`Credential cached (${keychain instanceof SystemKeychain ? 'OS keychain' : 'memory'}); running the maintenance tool`),
    })
    // The tool itself printed whether introspection said active; check the broker's side too.
    activeWhileRunning = run.exitCode === 0
    const after = await verifier(grant!.credential)
    say.ok(`Tool exited ${run.exitCode}; session revoked; introspection now says active: ${after.active}`)

    say.step('5. The audit trail of the session')
    const { events } = await (await tess.client()).get<{ events: AuditEvent[] }>(`/audit?session=${grant!.session.id}`)
    for (const event of events) say.info(`${event.at.slice(11, 19)}  ${event.type.padEnd(18)} ${event.actor}`)
    // Verifying the whole log is for admin and security; the demo checks it as the operator does, on the data folder.
    const verify: AuditVerifyResult = await verifyAnchored(broker.ctx.store, { publicKey: publicKeyOf(broker.ctx.signingKey), kid: broker.ctx.signingKey.kid })
    say.ok(`Audit chain intact: ${verify.ok} (${verify.events} records, each linked to the one before)`)

    say.step('6. The policy at work: vendor contracts, maintenance windows, two approvers, one controller at a time')
    const tour = await policyTour(broker, { tess, sam, vic, olga, tom }, say)

    say.step('7. Break-glass: a robot stops line 3 at night and nobody answers')
    const reviewFile = join(home, 'review.yaml')
    writeFileSync(reviewFile, DEMO_REVIEW)
    const emergency = await breakGlass(tess, {
      ...DEMO_BREAK_GLASS,
      cache: true,
      command: DEMO_TOOL,
      reviewFile,
      canPrompt: false,
      say: options.quiet ? undefined : ui,
    })
    say.info('At a terminal jit asks the five review questions right here; the demo answers from a file, as a script would.')

    say.step('8. A break-glass drill, unattended, as a scheduled job runs it')
    const drill = await runDrill(tess, { asset: DEMO_BREAK_GLASS.asset, reason: 'monthly break-glass drill', reviewFile })
    for (const s of drill.steps) say.info(`${s.ok ? 'pass' : 'FAIL'}  ${s.name.padEnd(38)} ${s.ms.toFixed(1).padStart(7)} ms`)
    say.ok(`Drill ${drill.passed ? 'passed' : 'FAILED'}: access in ${drill.timeToAccessMs?.toFixed(0)} ms, whole drill ${drill.totalMs.toFixed(0)} ms`)

    say.step('9. Work orders govern access: a closed one opens nothing, and closing one ends its sessions')
    const tickets = await ticketTour(broker, tess, verifier, say)

    say.step('10. Through a gateway: a vendor reaches a PLC only while the session lives')
    const gateway = await gatewayTour(broker, { vic, sam }, say)

    await Promise.all(everyone.map((cli) => cli.close()))
    // The demo broker goes away with this process; so do the demo devices' keys.
    for (const cli of everyone) await keychain.delete(deviceAccount(cli.deviceId))
    say.step("Done")
    say.info(`Try it yourself: jit broker start --data ${dataDir} --policy ${policyFile} --listen 127.0.0.1:8443`)
    return {
      dataDir,
      broker: broker.url,
      keychain: keychain instanceof SystemKeychain ? 'os' : 'memory',
      requestId: submitted.request.id,
      sessionId: grant!.session.id,
      deviceIds: everyone.map((cli) => cli.deviceId),
      commandExitCode: run.exitCode,
      activeWhileRunning,
      activeAfterRevoke: after.active,
      auditEvents: events.length,
      auditIntact: verify.ok,
      policy: tour,
      breakGlass: { sessionId: emergency.session.id, commandExitCode: emergency.exitCode, reviewState: emergency.review.state },
      drill: { passed: drill.passed, steps: drill.steps, timeToAccessMs: drill.timeToAccessMs, totalMs: drill.totalMs },
      tickets,
      gateway,
    }
  } finally {
    await broker.close()
  }
}

/**
 * The tool the demo runs (jit itself, `jit quickstart --demo-tool`: a single executable has no
 * Node to run a script with): it checks its own credential with the broker, as an asset's gateway would.
 */
const DEMO_TOOL = [...jitCommand(), 'quickstart', '--demo-tool']

/** What `jit quickstart --demo-tool` does; the exit code says whether the broker called the credential active. */
export async function runDemoTool(): Promise<number> {
  const res = await fetch(process.env.JIT_QUICKSTART_INTROSPECT!, {
    method: 'POST',
    headers: { authorization: `Bearer ${process.env.JIT_QUICKSTART_VERIFIER}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: process.env.JIT_TOKEN ?? '' }),
  })
  const answer = (await res.json()) as IntrospectionResult
  process.stderr.write(`  [tool] connected to ${process.env.JIT_ASSET} as ${answer.sub}, scope ${answer.scope}, gateway says active: ${answer.active}\n`)
  return answer.active ? 0 : 1
}

async function pickKeychain(say: Say): Promise<Keychain> {
  const system = new SystemKeychain()
  try {
    await system.probe()
    return system
  } catch (error) {
    if (!(error instanceof KeychainError)) throw error
    say.warn(`No OS keychain here (${error.message}). The demo keeps keys and credentials in memory, like --no-cache.`)
    for (const step of error.nextSteps.slice(0, 2)) say.warn(`  ${step}`)
    return new MemoryKeychain()
  }
}

async function enroll(broker: RunningBroker, keychain: Keychain, user: string, profile: string): Promise<CliContext> {
  const { code } = await enrollmentCode(broker.ctx.store, user, 300)
  const cli = new CliContext({ profile }, keychain)
  await login(cli, broker.url, code, `quickstart-${profile}`)
  return new CliContext({ profile }, keychain)
}

/** Registers a demo gateway and returns an introspection call as that gateway; also hands it to the tool. */
async function introspector(broker: RunningBroker): Promise<(token: string) => Promise<IntrospectionResult>> {
  const { addVerifier } = await import('../broker/admin.js')
  const { token } = await addVerifier(broker.ctx.store, 'demo-gateway')
  process.env.JIT_QUICKSTART_INTROSPECT = `${broker.url}/v1/introspect`
  process.env.JIT_QUICKSTART_VERIFIER = token
  return async (credential) => {
    const response = await fetch(`${broker.url}/v1/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: credential }),
    })
    return (await response.json()) as IntrospectionResult
  }
}
