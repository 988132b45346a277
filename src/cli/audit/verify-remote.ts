// `jit audit verify` through the broker: the broker checks its chain against the checkpoint this
// CLI kept from its last run and returns the newest one; this CLI checks that one's signature
// against the broker's published key before keeping it.
import { createPublicKey } from 'node:crypto'
import { readCheckpoint } from '../../audit/checkpoint.js'
import type { AuditVerifyResult } from '../../wire/api.js'
import type { CliContext } from '../context.js'
import { heldCheckpoint, keepCheckpoint } from './held-checkpoints.js'

export async function verifyThroughBroker(cli: CliContext, extraAnchors: string[]): Promise<AuditVerifyResult> {
  const client = await cli.client()
  const { keys } = await client.get<{ keys: { kid: string; kty: string; crv: string; x: string }[] }>('/.well-known/jwks.json')
  const jwk = keys[0]
  const held = heldCheckpoint(jwk.kid)
  const anchors = [...extraAnchors, ...(held ? [held] : [])]
  const result = await client.get<AuditVerifyResult>(`/audit/verify${anchors.length > 0 ? `?${new URLSearchParams({ anchors: anchors.join(',') })}` : ''}`)
  if (result.ok && result.checkpoint) {
    const checked = readCheckpoint(result.checkpoint, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }), jwk.kid)
    if (!('error' in checked)) keepCheckpoint(jwk.kid, result.checkpoint)
  }
  return result
}
