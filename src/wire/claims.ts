// The claims of a session credential, as the brief defines them.
import type { RequestKind } from './api.js'

export interface CredentialClaims {
  iss: string
  sub: string
  aud: string
  sid: string
  scope: string
  ticket: string
  kind: RequestKind
  iat: number
  nbf: number
  exp: number
  jti: string
  cnf: { jkt: string }
}

/** A credential's JWS type, and a bound no credential reaches. */
export const CREDENTIAL_SHAPE = { typ: 'JWT', maxLength: 8192 } as const
