// Signing in with the plant's identity provider. The device key is made here and its public half
// goes with the sign-in, so the broker enrolls this device in the same step. Code flow (default):
// a loopback listener on 127.0.0.1 is up before the browser opens (a browser sent to a port where
// nothing listens loses the URL), the broker gives the provider's URL, the browser comes back with
// a code, and the broker exchanges it with this sign-in's PKCE verifier. Device flow (opt-in, as a
// code typed elsewhere can be phished): the user goes to the provider on another device.
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { hostname } from 'node:os'
import type { CliContext } from '../context.js'
import type { EnrollResult, OidcDeviceFlow } from '../../wire/api.js'
import { AuthError } from '../../errors.js'
import { newDeviceKeyPair } from './device-key.js'
import { keepEnrollment } from './login.js'

const CALLBACK_PATH = '/callback'
/** How long the browser may take to come back. */
const SIGN_IN_TIMEOUT_MS = 5 * 60_000

export interface OidcLoginOptions {
  broker: string
  provider?: string
  deviceName?: string
  deviceCode: boolean
  /** Do not try to open a browser: print the URL only. */
  noBrowser: boolean
  /** Where to tell the user what to do (stderr). */
  say: (line: string) => void
}

const random = () => randomBytes(32).toString('base64url')

export async function oidcLogin(cli: CliContext, options: OidcLoginOptions): Promise<EnrollResult & { broker: string }> {
  await cli.keychain.probe()
  const client = cli.anonymousClient(options.broker)
  const { privateKey, publicJwk } = newDeviceKeyPair()
  const device = { publicKey: publicJwk, deviceName: options.deviceName ?? hostname() }
  try {
    const result = options.deviceCode
      ? await deviceCodeFlow(client, options, device)
      : await codeFlow(client, options, device)
    return await keepEnrollment(cli, client, privateKey, result)
  } finally {
    await client.close()
  }
}

type Client = ReturnType<CliContext['anonymousClient']>
type Device = { publicKey: { kty: 'OKP'; crv: 'Ed25519'; x: string }; deviceName: string }

async function codeFlow(client: Client, options: OidcLoginOptions, device: Device): Promise<EnrollResult> {
  const state = random()
  const nonce = random()
  const codeVerifier = random()
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url')
  const loopback = await listenForCallback(state)
  try {
    const redirectUri = `http://127.0.0.1:${loopback.port}${CALLBACK_PATH}`
    const { url, provider } = await client.post<{ url: string; provider: string }>('/oidc/authorize', { provider: options.provider, redirectUri, state, nonce, codeChallenge })
    options.say(`Sign in with ${provider} in your browser:\n  ${url}`)
    if (!options.noBrowser) openBrowser(url)
    const callbackUrl = await loopback.callback
    return await client.post<EnrollResult>('/oidc/enroll', { provider: options.provider, callbackUrl, state, nonce, codeVerifier, ...device })
  } finally {
    loopback.server.close()
  }
}

/** The loopback redirect, listening before anyone is sent to it; settles with the first callback that carries this sign-in's state. */
async function listenForCallback(state: string): Promise<{ server: Server; port: number; callback: Promise<string> }> {
  let settle!: (url: string) => void
  let fail!: (error: Error) => void
  const callback = new Promise<string>((ok, ko) => {
    settle = ok
    fail = ko
  })
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    if (url.pathname !== CALLBACK_PATH || url.searchParams.get('state') !== state) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not this sign-in.\n')
      return
    }
    const error = url.searchParams.get('error')
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(error ? 'Sign-in failed; see the terminal.\n' : 'Signed in; you can close this tab and go back to the terminal.\n')
    if (error) fail(new AuthError(`The identity provider refused the sign-in (${error.slice(0, 64)}).`, ['Try again; if it persists, ask the broker operator.']))
    else settle(`http://127.0.0.1:${(server.address() as { port: number }).port}${request.url}`)
  })
  await new Promise<void>((ok, ko) => server.once('error', ko).listen(0, '127.0.0.1', ok))
  const timer = setTimeout(() => fail(new AuthError('No sign-in came back from the browser within 5 minutes.', ['Run jit login --oidc again.'])), SIGN_IN_TIMEOUT_MS)
  timer.unref()
  void callback.finally(() => clearTimeout(timer)).catch(() => {})
  return { server, port: (server.address() as { port: number }).port, callback }
}

async function deviceCodeFlow(client: Client, options: OidcLoginOptions, device: Device): Promise<EnrollResult> {
  const flow = await client.post<OidcDeviceFlow>('/oidc/device', { provider: options.provider })
  options.say(`Sign in with ${flow.provider} on any device: go to\n  ${flow.verificationUri}\nand enter the code  ${flow.userCode}`)
  if (flow.verificationUriComplete) options.say(`(or open ${flow.verificationUriComplete})`)
  const deadline = Date.now() + flow.expiresIn * 1000
  while (Date.now() < deadline) {
    const answer = await client.post<EnrollResult | { pending: true }>('/oidc/device/enroll', { provider: options.provider, deviceCode: flow.deviceCode, interval: flow.interval, ...device })
    if (!('pending' in answer)) return answer
  }
  throw new AuthError(`The code ${flow.userCode} expired before the sign-in was finished.`, ['Run jit login --oidc --device-code again.'])
}

/** Tries the platform's opener (never through a shell: the URL has & in it); the URL is already printed, so a failure only means the user opens it. */
function openBrowser(url: string): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]]
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true })
    child.on('error', () => {})
    child.unref()
  } catch {
    // The URL is printed above.
  }
}

