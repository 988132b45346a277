// Signing in with the plant's identity provider, all real: oidc-provider on loopback, the broker
// as its relying party, `jit login --oidc` with the real keychain, and Chromium (puppeteer-core)
// filling in the provider's sign-in pages, for the code flow and the device-code flow. A group maps
// to a role; a user unknown to jit is made on first sign-in; a user disabled at the provider is
// refused within the configured age and their session ends.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_POLICY, PLC, cleanup, introspect, jit, startBroker, tempDir, type CliResult, type TestBroker } from './harness.js'
import { startTestProvider, type TestProvider } from './oidc-test-provider.js'

const MAX_AGE_SECONDS = 4
let idp: TestProvider
let broker: TestBroker
let browser: Browser
let verifierToken: string
const homes: string[] = []
const policyDir = tempDir('jit-oidc-policy-')

const accounts = {
  ada: { groups: ['ot-technicians', 'staff'] },
  lee: { groups: ['ot-shift-leads'] },
  dora: { groups: ['ot-technicians'] },
  carl: { groups: ['cafeteria'] },
  gus: { groups: ['ot-technicians'] },
}

beforeAll(async () => {
  idp = await startTestProvider(accounts)
  const policy = join(policyDir, 'policy.yaml')
  writeFileSync(policy, `${readFileSync(FIXTURE_POLICY, 'utf8')}
identity_providers:
  - name: plant-idp
    issuer: ${idp.issuer}
    client_id: ${idp.clientId}
    client_secret: { env: JIT_TEST_OIDC_SECRET }
    user_claim: preferred_username
    groups_claim: groups
    groups:
      ot-technicians: [technician]
      ot-shift-leads: [shift-lead]
    max_age: ${MAX_AGE_SECONDS}s
`)
  broker = await startBroker({ policy, env: { JIT_TEST_OIDC_SECRET: idp.clientSecret } })
  verifierToken = await broker.addVerifier('gateway-line-3')
  browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await broker?.stop()
  await idp?.close()
  cleanup(broker.dataDir, policyDir, ...homes)
})

/** Runs jit login with its stderr watched; `url` settles with the first line that matches `find`. */
function login(args: string[], find: RegExp): { home: string; url: Promise<string>; done: Promise<CliResult> } {
  const home = tempDir('jit-oidc-')
  homes.push(home)
  let settle!: (url: string) => void
  const url = new Promise<string>((ok) => (settle = ok))
  const done = jit(['login', '--broker', broker.url, '--oidc', ...args, '--json'], {
    home,
    onSpawn: (child) => {
      let err = ''
      child.stderr!.on('data', (d) => {
        err += d
        const found = err.match(find)
        if (found) settle(found[1])
      })
    },
  })
  return { home, url, done }
}

/** Signs in at the provider's pages as `account`: fills the login form, presses every Continue, until `until` shows. */
async function signInAt(url: string, account: string, until: RegExp): Promise<string> {
  // A browser profile of its own: the provider's session cookie of an earlier sign-in must not sign this one in.
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded' })
    for (let step = 0; step < 8; step++) {
      await page.waitForSelector('body')
      const text = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '')
      if (until.test(text)) return text
      if (!text) continue
      const navigated = page.waitForNavigation({ waitUntil: 'domcontentloaded' })
      if (await page.$('input[name=login]')) {
        await page.type('input[name=login]', account)
        await page.type('input[name=password]', 'any password')
      }
      await page.click('button[type=submit]:not([name=abort])')
      await navigated
    }
    throw new Error(`the provider's pages never showed ${until}: ${await page.evaluate(() => document.body?.innerText)}`)
  } finally {
    await context.close()
  }
}

const URL_LINE = /^\s+(http\S+)$/m
const access = ['--ticket', 'WO-104233', '--asset', PLC, '--scope', 'diagnose', '--ttl', '10m', '--reason', 'r', '--json']

describe('jit login --oidc', () => {
  it('code flow in a real browser: a user unknown to jit is made with the role of their group, the device enrolled, a session opens', async () => {
    expect(await broker.withStore((store) => store.users.get('ada'))).toBeUndefined()
    const run = login(['--no-browser'], URL_LINE)
    const url = await run.url
    expect(url.startsWith(`${idp.issuer}/`)).toBe(true)
    expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256')
    await signInAt(url, 'ada', /Signed in; you can close this tab/)
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    expect(result.json()).toMatchObject({ user: 'ada', roles: ['technician'] })
    expect(await broker.withStore((store) => store.users.get('ada'))).toMatchObject({ roles: ['technician'], disabled: false })
    const audit = await broker.withStore((store) => store.auditLog.events({ limit: 1000 }))
    expect(audit.find((e) => e.type === 'user.created')).toMatchObject({ actor: 'oidc:plant-idp', data: { user: 'ada', roles: ['technician'] } })
    // Nothing the provider handed over is written in the audit log or the broker's log.
    expect(JSON.stringify(audit)).not.toMatch(/refresh|id_token|eyJ/)
    expect(broker.log()).not.toMatch(/eyJ/)

    const whoami = await jit(['whoami', '--json'], { home: run.home })
    expect(whoami.json()).toMatchObject({ user: 'ada', roles: ['technician'] })
    const opened = await jit(['request', ...access], { home: run.home })
    expect(opened.code, opened.stderr).toBe(0)
  }, 90_000)

  it('roles follow the groups at the provider: a changed group changes the role at the next refresh (audited)', async () => {
    const run = login(['--no-browser'], URL_LINE)
    await signInAt(await run.url, 'gus', /Signed in; you can close this tab/)
    expect((await run.done).json()).toMatchObject({ user: 'gus', roles: ['technician'] })
    accounts.gus.groups = ['ot-shift-leads']
    const deadline = Date.now() + MAX_AGE_SECONDS * 1000 + 2000
    while ((await broker.withStore((store) => store.users.get('gus')))!.roles[0] !== 'shift-lead' && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 200))
    expect(await broker.withStore((store) => store.users.get('gus'))).toMatchObject({ roles: ['shift-lead'] })
    const audit = await broker.withStore((store) => store.auditLog.events({ limit: 1000 }))
    expect(audit.find((e) => e.type === 'user.roles-changed')).toMatchObject({ severity: 'high', data: { user: 'gus', from: ['technician'], to: ['shift-lead'] } })
  }, 90_000)

  it('a user in no mapped group is refused (exit 9) and not made', async () => {
    const run = login(['--no-browser'], URL_LINE)
    await signInAt(await run.url, 'carl', /Signed in; you can close this tab/)
    const result = await run.done
    expect(result.code).toBe(9)
    expect(result.json().error.message).toMatch(/in none of the groups that give a jit role/)
    expect(await broker.withStore((store) => store.users.get('carl'))).toBeUndefined()
  }, 90_000)

  it('bad input: an unknown provider is exit 2 and names the ones there are; --device-code without --oidc is a usage error', async () => {
    const home = tempDir('jit-oidc-')
    homes.push(home)
    const unknown = await jit(['login', '--broker', broker.url, '--oidc', '--provider', 'nope', '--no-browser', '--json'], { home })
    expect(unknown.code).toBe(2)
    expect(unknown.json().error.message).toMatch(/no identity provider "nope"; this broker has plant-idp/)
    const alone = await jit(['login', '--broker', broker.url, '--device-code', '--json'], { home })
    expect(alone.code).toBe(2)
    expect((await jit(['whoami', '--json'], { home })).code).not.toBe(0)
  }, 60_000)

  it('device-code flow: the code signed in on another browser enrolls this device', async () => {
    const run = login(['--device-code'], /or open (http\S+)\)/)
    await signInAt(await run.url, 'lee', /Sign-in Success/)
    const result = await run.done
    expect(result.code, result.stderr).toBe(0)
    expect(result.json()).toMatchObject({ user: 'lee', roles: ['shift-lead'] })
    expect((await jit(['whoami', '--json'], { home: run.home })).json()).toMatchObject({ user: 'lee' })
  }, 90_000)

  it(`the provider stays the source of truth: past max_age (${MAX_AGE_SECONDS}s) the broker has asked again; a user disabled there loses their session and gets nothing new`, async () => {
    const run = login(['--no-browser'], URL_LINE)
    await signInAt(await run.url, 'dora', /Signed in; you can close this tab/)
    expect((await run.done).code).toBe(0)
    const opened = await jit(['request', ...access], { home: run.home })
    expect(opened.code, opened.stderr).toBe(0)
    const id = opened.json().session.id as string
    const token = (await jit(['credential', id, '--format', 'raw'], { home: run.home })).stdout.trim()

    // Longer than max_age: the refresh token kept the answer fresh, so a new session still opens.
    await new Promise((ok) => setTimeout(ok, (MAX_AGE_SECONDS + 1) * 1000))
    const again = await jit(['request', ...access], { home: run.home })
    expect(again.code, again.stderr).toBe(0)

    idp.disable('dora')
    const deadline = Date.now() + MAX_AGE_SECONDS * 1000 + 2000
    while ((await introspect(broker, token, verifierToken)).active && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 200))
    expect((await introspect(broker, token, verifierToken)).active).toBe(false)
    const session = await broker.withStore((store) => store.sessions.get(id, Date.now() / 1000))
    expect(session).toMatchObject({ state: 'revoked', endedBy: 'oidc:plant-idp' })
    const refused = await jit(['request', ...access], { home: run.home })
    expect(refused.code).toBe(3)
    expect(refused.stdout).toMatch(/plant-idp refused dora/)
    const audit = await broker.withStore((store) => store.auditLog.events({ limit: 1000 }))
    expect(audit.find((e) => e.type === 'oidc.refused')).toMatchObject({ severity: 'high', data: { user: 'dora' } })
  }, 90_000)
})
