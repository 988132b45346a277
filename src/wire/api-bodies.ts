// The bodies the CLI sends the broker (requests, sessions, enrollment, introspection, break-glass,
// reviews, sign-in, SSH certificates, the ticket register) and the events ticket systems post, each written once as a TypeBox schema: the JSON schema the broker validates with
// (ajv, through fastify) and the TypeScript type both sides use come from the same line, so they
// cannot drift. Only the broker loads this module at run time; the CLI imports its types alone
// (src/wire/api.ts re-exports them as types), so its start-up never loads TypeBox.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { TICKET_EVENT_STATES, TICKET_TITLE_MAX } from './ticket-limits.js'

/** A string enum as JSON Schema's `enum` (ajv's error then names the allowed values). */
const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] })
const closed = <P extends Record<string, TSchema>>(properties: P) => Type.Object(properties, { additionalProperties: false })

const ID = Type.String({ minLength: 1, maxLength: 200 })
const ASSET = Type.String({ minLength: 1, maxLength: 512 })
const SCOPE = Type.String({ minLength: 1, maxLength: 64 })
const REASON = Type.String({ minLength: 1, maxLength: 2000 })
const TEXT = Type.String({ minLength: 1, maxLength: 4000 })

export const REQUEST_KINDS = ['standard', 'break-glass', 'drill'] as const
export type RequestKind = (typeof REQUEST_KINDS)[number]
export const CREDENTIAL_DELIVERIES = ['memory', 'cache'] as const
export type CredentialDelivery = (typeof CREDENTIAL_DELIVERIES)[number]

export const CreateRequestBody = closed({
  ticket: ID,
  asset: ASSET,
  scope: SCOPE,
  ttlSeconds: Type.Integer(),
  reason: REASON,
  kind: Type.Optional(oneOf(REQUEST_KINDS)),
  /**
   * How the device will hold the credential: 'memory' when a wrapper (jit exec, shell, connect)
   * keeps it in memory for one command; absent for a plain `jit request`, which caches it.
   */
  delivery: Type.Optional(oneOf(CREDENTIAL_DELIVERIES)),
  /** What a workload's job is for (e.g. firmware-update); rules may name it (conditions.intent). */
  intent: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' })),
})
export type CreateRequestBody = Static<typeof CreateRequestBody>

/** A workload's key pair enrolled with its one-time join token (the token is never stored, only its hash). */
export const WorkloadEnrollBody = closed({
  token: Type.String({ minLength: 16, maxLength: 128 }),
  publicKey: closed({ kty: Type.Literal('OKP'), crv: Type.Literal('Ed25519'), x: Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]+$' }) }),
})
export type WorkloadEnrollBody = Static<typeof WorkloadEnrollBody>

export const EnrollBody = closed({
  code: Type.String({ minLength: 8, maxLength: 128 }),
  deviceName: Type.String({ minLength: 1, maxLength: 128 }),
  // Only the public members of an Ed25519 key: a private `d`, or anything else, is refused.
  publicKey: closed({
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
  }),
})
export type EnrollBody = Static<typeof EnrollBody>

const PROVIDER = Type.Optional(Type.String({ minLength: 1, maxLength: 64 }))
/** A random value of a sign-in (state, nonce, PKCE verifier and challenge): base64url, 43 to 128 characters. */
const NONCE = Type.String({ pattern: '^[A-Za-z0-9_-]{43,128}$' })
const DEVICE_PUBLIC_KEY = EnrollBody.properties.publicKey

/** The CLI's loopback redirect and the fresh values of its sign-in; the broker answers with the provider's URL. */
export const OidcAuthorizeBody = closed({
  provider: PROVIDER,
  redirectUri: Type.String({ pattern: '^http://(127\\.0\\.0\\.1|\\[::1\\]):[0-9]{1,5}/[A-Za-z0-9/_-]*$', maxLength: 200 }),
  state: NONCE,
  nonce: NONCE,
  codeChallenge: NONCE,
})
export type OidcAuthorizeBody = Static<typeof OidcAuthorizeBody>

/** Where the browser came back (code and state), what proves it is the same sign-in, and the device to enroll. */
export const OidcEnrollBody = closed({
  provider: PROVIDER,
  callbackUrl: Type.String({ pattern: '^http://(127\\.0\\.0\\.1|\\[::1\\]):[0-9]{1,5}/', maxLength: 4096 }),
  state: NONCE,
  nonce: NONCE,
  codeVerifier: NONCE,
  deviceName: EnrollBody.properties.deviceName,
  publicKey: DEVICE_PUBLIC_KEY,
})
export type OidcEnrollBody = Static<typeof OidcEnrollBody>

export const OidcDeviceStartBody = closed({ provider: PROVIDER })
export type OidcDeviceStartBody = Static<typeof OidcDeviceStartBody>

/** A device-code sign-in being waited for, and the device to enroll once the user has approved it at the provider. */
export const OidcDevicePollBody = closed({
  provider: PROVIDER,
  deviceCode: Type.String({ minLength: 1, maxLength: 512 }),
  interval: Type.Integer({ minimum: 1, maximum: 60 }),
  deviceName: EnrollBody.properties.deviceName,
  publicKey: DEVICE_PUBLIC_KEY,
})
export type OidcDevicePollBody = Static<typeof OidcDevicePollBody>

export const CommentBody = closed({ comment: Type.Optional(Type.String({ maxLength: 2000 })) })
export type CommentBody = Static<typeof CommentBody>

export const ReasonBody = closed({ reason: REASON })
export type ReasonBody = Static<typeof ReasonBody>

export const OptionalReasonBody = closed({ reason: Type.Optional(REASON) })
export type OptionalReasonBody = Static<typeof OptionalReasonBody>

export const RenewBody = closed({
  /** New time left from now; default: the session's original length. */
  ttlSeconds: Type.Optional(Type.Integer()),
})
export type RenewBody = Static<typeof RenewBody>

/** POSTs that take no input: anything sent is refused, not ignored. */
export const EmptyBody = closed({})

/** RFC 7662 (form or JSON), with an optional proof of possession (src/wire/proof-of-possession.ts) and the challenge it answers. */
export const IntrospectBody = closed({
  token: Type.String({ minLength: 1, maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  proof: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  challenge: Type.Optional(Type.String({ minLength: 16, maxLength: 256 })),
})
export type IntrospectBody = Static<typeof IntrospectBody>

export const BreakGlassBody = closed({
  asset: ASSET,
  reason: REASON,
  incident: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  scope: Type.Optional(SCOPE),
  ttlSeconds: Type.Optional(Type.Integer()),
  /** A rehearsal: the same path, tagged as a drill everywhere. */
  drill: Type.Optional(Type.Boolean()),
})
export type BreakGlassBody = Static<typeof BreakGlassBody>

/** The post-event report every break-glass session must get. */
export const ReviewAnswers = closed({
  whatWasDone: TEXT,
  whyNotNormalPath: TEXT,
  changesToAsset: TEXT,
  rollbackNeeded: Type.Boolean(),
  // Empty means none (the prompt says "leave empty if none").
  followUpTicket: Type.Optional(Type.String({ maxLength: 200 })),
})
export type ReviewAnswers = Static<typeof ReviewAnswers>

/** jit ssh's signing request: its session and the ephemeral key to certify (an authorized_keys line). */
export const SshCertificateBody = closed({
  sessionId: Type.String({ minLength: 1, maxLength: 100 }),
  publicKey: Type.String({ minLength: 1, maxLength: 2000 }),
})
export type SshCertificateBody = Static<typeof SshCertificateBody>

/** A work order for the built-in register: assigned to a person or (vendor work) an organisation. */
export const AddTicketBody = closed({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  asset: Type.String({ minLength: 1, maxLength: 512 }),
  assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  org: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  title: Type.Optional(Type.String({ maxLength: TICKET_TITLE_MAX })),
})
export type AddTicketBody = Static<typeof AddTicketBody>

export const TicketChangeBody = closed({ reason: Type.Optional(Type.String({ maxLength: 500 })) })
export type TicketChangeBody = Static<typeof TicketChangeBody>

/** What a ticket system posts when a ticket changes; signed as a whole (see signTicketEvent). */
export const TicketEvent = closed({
  /** The ticket system, as the policy names it (tickets.systems). */
  system: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', maxLength: 64 }),
  /** Unique per event: a second delivery of the same id is refused as a replay. */
  eventId: Type.String({ minLength: 8, maxLength: 128 }),
  ticket: Type.String({ minLength: 1, maxLength: 64 }),
  state: oneOf(TICKET_EVENT_STATES),
  /** When the event was sent, seconds since the epoch: too old or too far ahead is refused. */
  timestamp: Type.Integer({ minimum: 0 }),
})
export type TicketEvent = Static<typeof TicketEvent>
