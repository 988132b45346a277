// JWT-SVIDs (JWT-SVID standard): ES256 with the authority's JWT key, kid in the header, sub = the
// workload's SPIFFE ID, aud required, exp required and short. Checking one takes the bundle's
// jwt-svid keys and an allowed algorithm; "alg: none" or an HMAC header is refused before anything
// else is read.
import { randomUUID } from 'node:crypto'
import { SignJWT, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { authFailed, badInput } from '../api-error.js'
import type { SpiffeAuthority, SpiffeTrust } from './authority.js'
import { requireSpiffeId } from './spiffe-id.js'

/** A JWT-SVID lives at most this long (and never past the session's end): it is a bearer token. */
export const MAX_JWT_SVID_SECONDS = 300
/** The algorithms the JWT-SVID standard allows. */
export const JWT_SVID_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512']

export interface JwtSvidRequest {
  spiffeId: string
  /** One audience, or a few (the standard advises one: a token is replayable to every audience it names). */
  audience: string | string[]
  /** The latest end the caller allows (its session's end). */
  expiresAt: Date
  now?: number
}

export interface JwtSvid {
  spiffeId: string
  token: string
  audience: string[]
  expiresAt: string
}

export async function issueJwtSvid(authority: SpiffeAuthority, request: JwtSvidRequest): Promise<JwtSvid> {
  requireSpiffeId(request.spiffeId, authority.trustDomain)
  const audience = typeof request.audience === 'string' ? [request.audience] : request.audience
  if (!Array.isArray(audience) || audience.length === 0 || audience.length > 8 || audience.some((a) => typeof a !== 'string' || a.length === 0 || a.length > 512)) {
    throw badInput('A JWT-SVID names 1 to 8 audiences, each a non-empty string of at most 512 characters.')
  }
  const now = request.now ?? Date.now()
  if (!(request.expiresAt instanceof Date) || Number.isNaN(request.expiresAt.getTime()) || request.expiresAt.getTime() <= now + 1000) {
    throw badInput('The JWT-SVID would end before it starts: its session is over.')
  }
  const exp = Math.floor(Math.min(request.expiresAt.getTime(), now + MAX_JWT_SVID_SECONDS * 1000) / 1000)
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: authority.jwtPublicJwk.kid, typ: 'JWT' })
    .setSubject(request.spiffeId)
    .setAudience(audience.length === 1 ? audience[0] : audience)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(authority.jwtPrivateKey)
  return { spiffeId: request.spiffeId, token, audience, expiresAt: new Date(exp * 1000).toISOString() }
}

export interface ValidJwtSvid {
  spiffeId: string
  audience: string[]
  expiresAt: string
}

/** Checks a JWT-SVID against the trust's jwt-svid key for one audience: 400 for a token that is not a JWT-SVID at all, 401 for one that does not verify. */
export async function validateJwtSvid(trust: Pick<SpiffeTrust, 'trustDomain' | 'jwtPublicJwk'>, token: string, audience: string): Promise<ValidJwtSvid> {
  if (typeof token !== 'string' || token.split('.').length !== 3) throw badInput('The token is not a JWS in compact form (three parts separated by ".").')
  let alg: unknown
  try {
    alg = decodeProtectedHeader(token).alg
  } catch {
    throw badInput('The token\'s header cannot be read.')
  }
  if (typeof alg !== 'string' || !JWT_SVID_ALGORITHMS.includes(alg)) {
    throw badInput(`The token's algorithm "${String(alg).slice(0, 20)}" is not one a JWT-SVID may use (${JWT_SVID_ALGORITHMS.join(', ')}).`)
  }
  const keys = createLocalJWKSet({ keys: [trust.jwtPublicJwk as JWK] })
  try {
    const { payload } = await jwtVerify(token, keys, { algorithms: JWT_SVID_ALGORITHMS, audience, requiredClaims: ['sub', 'aud', 'exp'] })
    requireSpiffeId(payload.sub as string, trust.trustDomain)
    const aud = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud as string[])
    return { spiffeId: payload.sub as string, audience: aud, expiresAt: new Date((payload.exp as number) * 1000).toISOString() }
  } catch (error) {
    if (error instanceof Error && 'status' in error) throw error
    throw authFailed(`The JWT-SVID does not verify: ${(error as Error).message}.`)
  }
}
