// Credentials of ticket systems: named in the policy (an environment variable or a file), read
// when a connector needs them, never logged, never in an error message (only where they live).
import { readFileSync } from 'node:fs'
import type { ConnectorAuth, SecretRef } from '../../policy/types.js'
import { TicketSystemUnreachable } from './connector.js'

export function readSecret(ref: SecretRef): string {
  if ('env' in ref) {
    const value = process.env[ref.env]
    if (!value) throw new TicketSystemUnreachable(`its credential is missing: environment variable ${ref.env} is not set`)
    return value
  }
  let value: string
  try {
    value = readFileSync(ref.file, 'utf8').trim()
  } catch {
    throw new TicketSystemUnreachable(`its credential is missing: the file ${ref.file} cannot be read`)
  }
  if (!value) throw new TicketSystemUnreachable(`its credential is missing: the file ${ref.file} is empty`)
  return value
}

/** The Authorization header value for a connector's auth setting. */
export function authorization(auth: ConnectorAuth): string {
  if ('basic' in auth) return `Basic ${Buffer.from(`${auth.basic.username}:${readSecret(auth.basic.password)}`).toString('base64')}`
  return `Bearer ${readSecret(auth.bearer)}`
}
