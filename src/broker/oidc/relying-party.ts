// The broker as the relying party of an OpenID provider: discovery (cached per provider), the
// authorization URL, the code exchange with PKCE, the device flow, and the refresh that asks the
// provider again about a user. The broker, not the CLI, talks to the token endpoint: it holds the
// client secret (when the provider has one) and the refresh token, neither ever leaves it.
// Every ID token is checked: signature against the provider's JWKS (cached, refetched on an
// unknown key id, so a rotation is followed), iss, aud, exp, and the nonce of a code flow.
import * as client from 'openid-client'
import type { IdentityProvider } from '../../policy/types.js'
import { readSecret } from '../tickets/secrets.js'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** What the provider said about who signed in. */
export interface ProviderAnswer {
  claims: Record<string, unknown>
  refreshToken?: string
}

/** The provider could not be reached or answered with an error that is not about the user. */
export class ProviderUnreachable extends Error {}
/** The provider refused this sign-in or refresh (a disabled user, a revoked or expired grant). */
export class ProviderRefused extends Error {}

const configurations = new Map<string, Promise<client.Configuration>>()

/** The provider's configuration, discovered once per issuer and client (a failed discovery is tried again next time). */
function configurationOf(provider: IdentityProvider): Promise<client.Configuration> {
  const key = `${provider.issuer} ${provider.clientId}`
  let found = configurations.get(key)
  if (!found) {
    const issuer = new URL(provider.issuer)
    // The policy loader allows plain http for a provider on this host only.
    const execute = [client.enableNonRepudiationChecks, ...(issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname) ? [client.allowInsecureRequests] : [])]
    const auth = provider.clientSecret ? client.ClientSecretBasic(readSecret(provider.clientSecret)) : client.None()
    found = client.discovery(issuer, provider.clientId, undefined, auth, { execute, timeout: 10 })
    configurations.set(key, found)
    found.catch(() => configurations.delete(key))
  }
  return found
}

async function calling<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    const e = error as { error?: string; code?: string; message?: string }
    if (e.error === 'invalid_grant' || e.error === 'access_denied' || e.error === 'expired_token') throw new ProviderRefused(`${what}: the provider refused (${e.error})`)
    // An ID token that fails a check (nonce, audience, signature) is a refusal too: nothing is trusted from it.
    if (e.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' || e.code === 'OAUTH_JWS_SIGNATURE_VERIFICATION_FAILED' || e.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') throw new ProviderRefused(`${what}: the ID token failed its check (${e.message})`)
    throw new ProviderUnreachable(`${what}: ${e.error ?? e.code ?? 'error'}${e.message ? ` (${e.message})` : ''}`)
  }
}

/** Where the browser goes to sign in; state, nonce and the PKCE challenge come from the CLI, which checks the state and holds the verifier. */
export async function authorizationUrl(provider: IdentityProvider, p: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<string> {
  const config = await calling('discovery', () => configurationOf(provider))
  return client.buildAuthorizationUrl(config, {
    redirect_uri: p.redirectUri,
    scope: provider.scopes.join(' '),
    state: p.state,
    nonce: p.nonce,
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
    // A refresh token (offline_access) is granted after consent on most providers.
    ...(provider.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
  }).href
}

/** The code exchange: the callback URL the browser reached, with the verifier and nonce of that flow. */
export async function exchangeCode(provider: IdentityProvider, p: { callbackUrl: string; state: string; nonce: string; codeVerifier: string }): Promise<ProviderAnswer> {
  const config = await calling('discovery', () => configurationOf(provider))
  const tokens = await calling('code exchange', () =>
    client.authorizationCodeGrant(config, new URL(p.callbackUrl), { pkceCodeVerifier: p.codeVerifier, expectedNonce: p.nonce, expectedState: p.state, idTokenExpected: true }),
  )
  return { claims: tokens.claims()! as Record<string, unknown>, refreshToken: tokens.refresh_token }
}

export interface DeviceFlow {
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete?: string
  expiresIn: number
  interval: number
}

export async function startDeviceFlow(provider: IdentityProvider): Promise<DeviceFlow> {
  const config = await calling('discovery', () => configurationOf(provider))
  const started = await calling('device authorization', () => client.initiateDeviceAuthorization(config, { scope: provider.scopes.join(' ') }))
  return {
    deviceCode: started.device_code,
    userCode: started.user_code,
    verificationUri: started.verification_uri,
    verificationUriComplete: started.verification_uri_complete,
    expiresIn: started.expires_in,
    interval: started.interval ?? 5,
  }
}

/** Polls the provider for waitMs at most; undefined while the user has not finished at the provider. */
export async function pollDeviceFlow(provider: IdentityProvider, flow: { deviceCode: string; interval: number }, waitMs: number): Promise<ProviderAnswer | undefined> {
  const config = await calling('discovery', () => configurationOf(provider))
  const signal = AbortSignal.timeout(waitMs)
  try {
    const tokens = await client.pollDeviceAuthorizationGrant(config, { device_code: flow.deviceCode, user_code: '', verification_uri: '', expires_in: 600, interval: flow.interval }, undefined, { signal })
    const claims = tokens.claims()
    if (!claims) throw new ProviderRefused('device flow: the provider sent no ID token')
    return { claims: claims as Record<string, unknown>, refreshToken: tokens.refresh_token }
  } catch (error) {
    if (signal.aborted) return undefined
    if (error instanceof ProviderRefused) throw error
    return calling('device flow', () => Promise.reject(error))
  }
}

/** Asks the provider again about a user; the claims of a new ID token when it sends one. */
export async function refresh(provider: IdentityProvider, refreshToken: string): Promise<ProviderAnswer> {
  const config = await calling('discovery', () => configurationOf(provider))
  const tokens = await calling('refresh', () => client.refreshTokenGrant(config, refreshToken))
  return { claims: (tokens.claims() ?? {}) as Record<string, unknown>, refreshToken: tokens.refresh_token }
}
