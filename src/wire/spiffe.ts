// The SPIFFE endpoints: the trust bundle (public), JWT-SVID validation (public), and the SVIDs a
// workload asks for with its session.

export const SPIFFE_BUNDLE_PATH = '/spiffe/bundle'
export const SPIFFE_X509_SVIDS_PATH = '/spiffe/x509-svids'
export const SPIFFE_JWT_SVIDS_PATH = '/spiffe/jwt-svids'
export const SPIFFE_JWT_VALIDATE_PATH = '/spiffe/jwt-svids/validate'

export interface X509SvidBody {
  /** A PKCS#10 request in PEM, signed with the workload's own key. */
  csr: string
}

export interface JwtSvidBody {
  audience: string | string[]
}

export interface JwtValidateBody {
  token: string
  audience: string
}

const closed = (properties: Record<string, unknown>, required: string[]) => ({ type: 'object', properties, required, additionalProperties: false }) as const

export const spiffeSchemas = {
  x509Svid: closed({ csr: { type: 'string', minLength: 1, maxLength: 16 * 1024 } }, ['csr']),
  jwtSvid: closed({ audience: { anyOf: [{ type: 'string', minLength: 1, maxLength: 512 }, { type: 'array', minItems: 1, maxItems: 8, items: { type: 'string', minLength: 1, maxLength: 512 } }] } }, ['audience']),
  jwtValidate: closed({ token: { type: 'string', minLength: 1, maxLength: 16 * 1024 }, audience: { type: 'string', minLength: 1, maxLength: 512 } }, ['token', 'audience']),
}
