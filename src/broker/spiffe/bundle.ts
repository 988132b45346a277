// The trust bundle in the SPIFFE bundle format (SPIFFE_Trust_Domain_and_Bundle standard): a JWK
// set whose keys carry `use` — the CA as an x509-svid key (its certificate in x5c), the JWT key as
// a jwt-svid key (with its kid) — plus a sequence number and a refresh hint. The PEM form is the
// CA certificate alone: what openssl, Mosquitto or PostgreSQL take as their CA file.
import { createPublicKey } from 'node:crypto'
import type { JWK } from 'jose'
import type { SpiffeTrust } from './authority.js'

/** How often relying parties should fetch the bundle again, in seconds. */
export const BUNDLE_REFRESH_HINT_SECONDS = 300

export interface SpiffeBundle {
  keys: JWK[]
  spiffe_sequence: number
  spiffe_refresh_hint: number
}

export function spiffeBundle(trust: SpiffeTrust): SpiffeBundle {
  const ca = trust.caCertificate
  const caJwk = publicJwkOfCertificate(ca.publicKey.rawData)
  return {
    keys: [
      { ...caJwk, use: 'x509-svid', x5c: [Buffer.from(ca.rawData).toString('base64')] },
      { kty: trust.jwtPublicJwk.kty, crv: trust.jwtPublicJwk.crv, x: trust.jwtPublicJwk.x, y: trust.jwtPublicJwk.y, kid: trust.jwtPublicJwk.kid, use: 'jwt-svid' },
    ],
    // The CA certificate's start: it changes exactly when the bundle's contents do.
    spiffe_sequence: Math.floor(ca.notBefore.getTime() / 1000),
    spiffe_refresh_hint: BUNDLE_REFRESH_HINT_SECONDS,
  }
}

export const bundlePem = (trust: SpiffeTrust): string => `${trust.caCertificate.toString('pem')}\n`

function publicJwkOfCertificate(spki: ArrayBuffer): JWK {
  const { kty, crv, x, y } = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as JWK
  return { kty, crv, x, y }
}
