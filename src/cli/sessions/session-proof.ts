// `jit sessions show`: the proof that a session began, how it was used and that it has ended,
// from the broker's record, its audit trail and a live introspection made just now.
import type { CliContext } from '../context.js'
import type { AuditEvent, SessionProof } from '../../wire/api.js'
import type { ConnectionRecord } from '../../wire/gateway.js'
import { secondsLeft } from './local-sessions.js'

export interface SessionStory extends SessionProof {
  issued?: { at: string; by: string }
  /** Each time an asset (a verifier) checked the credential, and what it was told. */
  verifications: { at: string; by: string; active: boolean }[]
  renewals: { at: string; by: string; to: string }[]
  /** Each connection a gateway carried for the session, as the gateway recorded it. */
  connections: (ConnectionRecord & { gateway: string })[]
  ended?: { at: string; by: string; reason: string; state: string }
  /** Time left by the broker's clock; 0 once ended. */
  secondsLeft: number
}

export async function sessionStory(cli: CliContext, sessionId: string): Promise<SessionStory> {
  const asked = performance.now()
  const proof = await (await cli.client()).get<SessionProof>(`/sessions/${encodeURIComponent(sessionId)}/proof`)
  const events = proof.events
  const of = (type: string) => events.filter((e) => e.type === type)
  const issued = of('session.issued')[0]
  const { session } = proof
  return {
    ...proof,
    issued: issued && { at: issued.at, by: issued.actor },
    verifications: of('session.verified')
      .filter((e) => e.actor.startsWith('verifier:'))
      .map((e) => ({ at: e.at, by: e.actor.slice('verifier:'.length), active: e.data.active === true })),
    renewals: of('session.renewed').map((e) => ({ at: e.at, by: e.actor, to: String(e.data.to) })),
    connections: of('gateway.connection').map((e) => e.data as unknown as ConnectionRecord & { gateway: string }),
    ended: session.state === 'active' ? undefined : endOf(session, events),
    secondsLeft: session.state === 'active' ? secondsLeft(session.expiresAt, proof.now, asked) : 0,
  }
}

function endOf(session: SessionProof['session'], events: AuditEvent[]): SessionStory['ended'] {
  const event = events.find((e) => e.type === 'session.revoked' || e.type === 'session.expired')
  return {
    at: session.endedAt ?? event?.at ?? session.expiresAt,
    by: session.endedBy ?? event?.actor ?? 'broker',
    reason: session.endReason ?? String(event?.data.reason ?? session.state),
    state: session.state,
  }
}
