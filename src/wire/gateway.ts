// The wire format around the gateway, defined once: what the broker tells a gateway (the assets it
// fronts, the revocation stream, where a gateway listens), what a gateway reports (each
// connection), and the tunnel protocol between `jit connect` and a gateway.

/** Why a session ended, as the revocation stream names it (end.data.cause, else the end state). */
export type SessionEndCause =
  | 'revoked' | 'expired' | 'heartbeat-lost' | 'logout' | 'user-disabled' | 'device-revoked' | 'ticket-closed' | (string & {})

/** One session end on the revocation stream. `seq` only grows; a follower asks for what came after the last it saw. */
export interface SessionEnd {
  seq: number
  sessionId: string
  asset: string
  cause: SessionEndCause
  at: string
}

/** GET /v1/gateway/revocations?since=SEQ&wait=S: the ends after `since` (long-polled), and the stream's head. */
export interface RevocationBatch {
  head: number
  ends: SessionEnd[]
}

/** An asset a gateway fronts, read from the asset's attributes `gateway`, `endpoint` and `endpointScopes`. */
export interface FrontedAsset {
  path: string
  host: string
  port: number
  /** Scopes a tunnel to this endpoint may carry; absent = any scope the policy granted. */
  scopes?: string[]
  /** A terminal (a shell on the asset): the gateway also keeps an asciicast v2 file. */
  terminal: boolean
  /** The asset's `protocol` attribute when the gateway understands it: every request is checked. */
  protocol?: 'modbus-tcp'
}

/** An inclusive range of coil or register addresses. */
export type AddressRange = [number, number]

/**
 * What one session may send to a Modbus asset beyond reading (`modbus` in the broker's
 * introspection answer, from the rule that opened the session).
 */
export interface ModbusGrant {
  /** Coil and register ranges it may write, per unit (absent unit: any). Empty: it may not write. */
  writes: { unit?: number; coils?: AddressRange[]; registers?: AddressRange[] }[]
  /** Diagnostic and programming functions (8, 17, vendor codes) are allowed. */
  programming: boolean
}

/** GET /v1/gateway/assets: the gateway is the verifier the token belongs to. */
export interface GatewayAssets {
  gateway: string
  assets: FrontedAsset[]
}

/** POST /v1/gateway/announce: where this gateway listens and the certificate it presents. */
export interface GatewayAnnouncement {
  address: string
  /** SHA-256 of the DER certificate, lower-case hex: the CLI pins it, vouched for by the broker. */
  certSha256: string
}

/** GET /v1/assets/gateway?asset=PATH (device-authenticated): how `jit connect` reaches an asset. */
export interface AssetGateway {
  asset: string
  gateway: string
  address: string
  certSha256: string
}

/** Why a tunnelled connection ended. */
export type ConnectionEndCause = SessionEndCause | 'protocol-error' | 'client-closed' | 'asset-closed' | 'asset-unreachable' | 'stream-stale' | 'gateway-stopped' | 'error'

/**
 * POST /v1/gateway/connections/opened: a connection the gateway has just admitted, recorded as a
 * `gateway.connection.opened` audit event (once per connection id: a gateway resends what it is
 * not sure the broker has).
 */
export interface ConnectionOpened {
  connectionId: string
  sessionId: string
  asset: string
  /** The client's address as the gateway saw it (host:port). */
  from: string
  startedAt: string
}

/**
 * POST /v1/gateway/connections: one finished connection, recorded as a `gateway.connection` audit
 * event (once per connection id).
 */
export interface ConnectionRecord {
  connectionId: string
  sessionId: string
  asset: string
  /** The client's address as the gateway saw it (host:port). */
  from: string
  startedAt: string
  endedAt: string
  bytesToAsset: number
  bytesFromAsset: number
  endCause: ConnectionEndCause
  /** With --recordings: the file name (relative to the recordings folder), its size and SHA-256. */
  recording?: { file: string; bytes: number; sha256: string }
  /** For terminal assets: the asciicast v2 file and its SHA-256. */
  asciicast?: { file: string; bytes: number; sha256: string }
  /**
   * The gateway stopped without seeing the end (it was killed, or the machine went down); a
   * restarted gateway sent this record (endCause gateway-stopped). endedAt is when that gateway was
   * last known to run, the byte counts are as it last noted them.
   */
  recovered?: boolean
  /** Protocol-aware assets: the decoded writes and refusals of this connection. */
  commands?: CommandLog
}

/** One write sent to the asset, or one request the gateway refused or could not read. */
export interface ModbusCommand {
  at: string
  unit: number
  function: number
  address?: number
  count?: number
  /** Values written (at most MAX_LOGGED_VALUES; `count` says how many there were). */
  values?: number[]
  /** sent: forwarded to the asset; refused: answered by the gateway; malformed: the connection was closed. */
  outcome: 'sent' | 'refused' | 'malformed'
  /** The answer: "ok", or "exception N" (the asset's for a sent write, the gateway's for a refusal). */
  answer?: string
  reason?: string
}

/** The command log of one connection; past MAX_LOGGED_COMMANDS entries only the counts go on. */
export interface CommandLog {
  protocol: 'modbus-tcp'
  writes: number
  refused: number
  /** Entries not kept (past the limit); the counts include them. */
  dropped: number
  entries: ModbusCommand[]
}

/** The commands of one connection of a session, as `jit sessions commands` shows them. */
export interface ConnectionCommands {
  connectionId: string
  protocol: string
  startedAt: string
  endedAt: string
  /** SHA-256 of the log's canonical JSON, as the connection's audit record names it. */
  sha256: string
  entries: ModbusCommand[]
}

/** GET /v1/sessions/ID/commands. */
export interface SessionCommands {
  sessionId: string
  asset: string
  scope: string
  connections: ConnectionCommands[]
}

export const MAX_LOGGED_COMMANDS = 1000
export const MAX_LOGGED_VALUES = 64

const connectionFields = {
  connectionId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  sessionId: { type: 'string', minLength: 1, maxLength: 64 },
  asset: { type: 'string', minLength: 1, maxLength: 512 },
  from: { type: 'string', pattern: '^[0-9A-Za-z.:%\\[\\]-]{1,128}$' },
  startedAt: { type: 'string', format: 'date-time', maxLength: 40 },
} as const

export const connectionOpenedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['connectionId', 'sessionId', 'asset', 'from', 'startedAt'],
  properties: connectionFields,
} as const

export const connectionRecordSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['connectionId', 'sessionId', 'asset', 'from', 'startedAt', 'endedAt', 'bytesToAsset', 'bytesFromAsset', 'endCause'],
  properties: {
    ...connectionFields,
    endedAt: { type: 'string', format: 'date-time', maxLength: 40 },
    bytesToAsset: { type: 'integer', minimum: 0 },
    bytesFromAsset: { type: 'integer', minimum: 0 },
    endCause: { type: 'string', pattern: '^[a-z-]{1,32}$' },
    recording: { $ref: '#/$defs/file' },
    asciicast: { $ref: '#/$defs/file' },
    recovered: { type: 'boolean' },
    commands: { $ref: '#/$defs/commands' },
  },
  $defs: {
    commands: {
      type: 'object',
      additionalProperties: false,
      required: ['protocol', 'writes', 'refused', 'dropped', 'entries'],
      properties: {
        protocol: { const: 'modbus-tcp' },
        writes: { type: 'integer', minimum: 0 },
        refused: { type: 'integer', minimum: 0 },
        dropped: { type: 'integer', minimum: 0 },
        entries: {
          type: 'array',
          maxItems: MAX_LOGGED_COMMANDS,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['at', 'unit', 'function', 'outcome'],
            properties: {
              at: { type: 'string', format: 'date-time', maxLength: 40 },
              unit: { type: 'integer', minimum: 0, maximum: 255 },
              function: { type: 'integer', minimum: 0, maximum: 255 },
              address: { type: 'integer', minimum: 0, maximum: 65535 },
              count: { type: 'integer', minimum: 0, maximum: 65535 },
              values: { type: 'array', maxItems: MAX_LOGGED_VALUES, items: { type: 'integer', minimum: 0, maximum: 65535 } },
              outcome: { enum: ['sent', 'refused', 'malformed'] },
              answer: { type: 'string', maxLength: 40 },
              reason: { type: 'string', maxLength: 300 },
            },
          },
        },
      },
    },
    file: {
      type: 'object',
      additionalProperties: false,
      required: ['file', 'bytes', 'sha256'],
      properties: {
        file: { type: 'string', pattern: '^[A-Za-z0-9_./-]{1,200}$' },
        bytes: { type: 'integer', minimum: 0 },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
    },
  },
} as const

export const announcementSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'certSha256'],
  properties: {
    address: { type: 'string', minLength: 3, maxLength: 300 },
    certSha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  },
} as const

// ---- the tunnel protocol ------------------------------------------------------------------------
//
// Over TLS. Until the gateway says "ok", both sides exchange frames: a 4-byte big-endian length,
// then that many bytes of JSON. The gateway speaks first (a challenge); the client answers with
// one "open" frame; the gateway answers "ok" (after which the connection carries the asset's
// bytes, unframed) or "refused" and closes.

export const TUNNEL_PROTOCOL = 'jit-tunnel/1'
/** No handshake frame is larger: a bigger length prefix is refused before anything is read. */
export const MAX_TUNNEL_FRAME_BYTES = 16 * 1024
/** A client that has not completed the handshake in this time is disconnected. */
export const TUNNEL_HANDSHAKE_TIMEOUT_MS = 10_000
/**
 * Write buffer of the sockets that relay a tunnel's bytes (jit connect's two, the gateway's to the
 * asset), instead of Node's 64 KiB: a bulk transfer then pauses and resumes its source (two
 * system calls each time) far less often. About a tenth less CPU per byte in the relays, measured;
 * it bounds what one slow side can hold in memory per socket.
 */
export const TUNNEL_SOCKET_BUFFER_BYTES = 512 * 1024

export interface TunnelChallenge {
  type: 'challenge'
  protocol: typeof TUNNEL_PROTOCOL
  gateway: string
  nonce: string
}

export interface TunnelOpen {
  type: 'open'
  asset: string
  /** The session credential (JWT). */
  token: string
  /** Proof of possession of the device key the credential's cnf.jkt names, over this connection's
   * challenge, for this gateway (signPossessionProof in src/wire/proof-of-possession.ts). */
  proof: string
}

export interface TunnelOk {
  type: 'ok'
  sessionId: string
  connectionId: string
}

export type TunnelRefusalCode = 'bad-frame' | 'bad-token' | 'wrong-asset' | 'scope-not-allowed' | 'no-proof' | 'inactive' | 'stale' | 'unavailable'

export interface TunnelRefused {
  type: 'refused'
  code: TunnelRefusalCode
  message: string
}

export type TunnelReply = TunnelOk | TunnelRefused

export function encodeFrame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message))
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.length)
  return Buffer.concat([head, body])
}
