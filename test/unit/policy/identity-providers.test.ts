// The policy's identity providers: compiled with their defaults; a secret only as a reference; an
// issuer in the clear only on this host; max_age bounded; names unique; scopes with openid.
import { describe, expect, it } from 'vitest'
import { parsePolicy, PolicyLoadError } from '../../../src/policy/load.js'

const policy = (providers: string) => `version: 1
identity_providers:
${providers}
rules:
  - name: r1
    who: { roles: [technician] }
    assets: ['plant-a/**']
    scopes: [read]
    max_ttl: 1h
`

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyLoadError)
    return (error as PolicyLoadError).problems.map((p) => `${p.line}: ${p.message}`)
  }
  throw new Error('expected the policy to be refused')
}

const provider = (extra: string, issuer = 'https://login.plant-a.example/realms/plant') => `  - name: plant-idp
    issuer: ${issuer}
    client_id: jit
    user_claim: preferred_username
    groups: { ot-technicians: [technician], ot-leads: [shift-lead, technician] }
    max_age: 5m
${extra}`

describe('identity providers in the policy', () => {
  it('compiles a provider with its defaults (public client, groups claim, offline_access for refresh)', () => {
    const loaded = parsePolicy(policy(provider('    client_secret: { env: JIT_OIDC_SECRET }\n')), 'p.yaml')
    expect(loaded.identityProviders).toEqual([{
      name: 'plant-idp',
      issuer: 'https://login.plant-a.example/realms/plant',
      clientId: 'jit',
      clientSecret: { env: 'JIT_OIDC_SECRET' },
      scopes: ['openid', 'profile', 'offline_access'],
      userClaim: 'preferred_username',
      groupsClaim: 'groups',
      groups: { 'ot-technicians': ['technician'], 'ot-leads': ['shift-lead', 'technician'] },
      maxAgeSeconds: 300,
    }])
    expect(parsePolicy(policy(provider('')), 'p.yaml').identityProviders[0].clientSecret).toBeUndefined()
    expect(parsePolicy(policy(provider('', 'http://127.0.0.1:9000')), 'p.yaml').identityProviders[0].issuer).toBe('http://127.0.0.1:9000')
  })

  it('takes the client secret only as a reference, never written in the policy', () => {
    expect(problemsOf(policy(provider('    client_secret: s3cret\n')))).toEqual(['9: identity_providers.0.client_secret: expected { env: VARIABLE } or { file: PATH }: a credential is named in the policy, never written in it'])
  })

  it('refuses a plain-http issuer off this host, a max_age out of bounds, scopes without openid and a name given twice', () => {
    expect(problemsOf(policy(provider('', 'http://login.plant-a.example')))).toEqual(['4: an issuer must be https:// (plain http only on this host: 127.0.0.1, localhost)'])
    expect(problemsOf(policy(provider('').replace('max_age: 5m', 'max_age: 2d')))).toEqual(['8: max_age must be between 1s and 24h'])
    expect(problemsOf(policy(provider('    scopes: [profile]\n')))).toEqual(['9: scopes must include openid'])
    expect(problemsOf(policy(provider('') + provider('')))).toEqual(['9: identity provider "plant-idp" is named twice'])
    expect(problemsOf(policy(provider('').replace('    user_claim: preferred_username\n', '')))).toHaveLength(1)
  })
})
