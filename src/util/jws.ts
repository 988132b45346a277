// Compact EdDSA JWS signing with node:crypto. Ed25519 signatures are deterministic, so the same
// claims always give the same token: the broker can hand a credential out again without ever
// storing it.
import { sign, type KeyObject } from 'node:crypto'

export function signJwt(payload: Record<string, unknown>, key: KeyObject, header: Record<string, unknown>): string {
  const head = Buffer.from(JSON.stringify({ alg: 'EdDSA', ...header })).toString('base64url')
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url')
  const input = `${head}.${body}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}
