// A real OpenID provider for the sign-in tests: oidc-provider on loopback with its development
// login and consent pages, a few accounts with groups, the device flow on, refresh tokens for
// offline_access, and a way to disable an account (it then no longer exists for the provider:
// its refresh token stops working, like a user disabled at a plant's IdP).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

export interface TestProvider {
  issuer: string
  clientId: string
  clientSecret: string
  disable(login: string): void
  close(): Promise<void>
}

export async function startTestProvider(accounts: Record<string, { groups: string[]; name?: string }>): Promise<TestProvider> {
  const server = createServer()
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const disabled = new Set<string>()
  const clientId = 'jit-broker'
  const clientSecret = 'test-client-secret-0123456789abcdef'
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      // A native client: its loopback redirect may come back on any port (RFC 8252).
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    // The login name is the account id; an account disabled here is not found any more.
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts[id]
      if (!account || disabled.has(id)) return undefined
      return { accountId: id, claims: async () => ({ sub: id, preferred_username: account.name ?? id, groups: account.groups }) }
    },
    claims: { openid: ['sub', 'preferred_username', 'groups'] },
    // The claims go into the ID token itself (as Entra ID, Okta and Keycloak can be set to do).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
    pkce: { required: () => true },
    ttl: { AccessToken: 60, IdToken: 60, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600, DeviceCode: 600 },
    cookies: { keys: ['test-cookie-key-0123456789'] },
  } as never)
  provider.on('server_error', (_ctx: unknown, error: Error) => process.stderr.write(`test provider: ${error.stack}\n`))
  server.on('request', provider.callback())
  return {
    issuer,
    clientId,
    clientSecret,
    disable: (login) => void disabled.add(login),
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections()
      server.close(() => ok())
    }),
  }
}
