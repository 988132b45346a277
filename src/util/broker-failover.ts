// When a call that failed may be sent to the next broker of the plant (the CLI and the gateway
// both know several): only when doing so cannot carry out a change twice.

/** Connection failures that happen before a byte of the call has left this machine. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT'])

/** Calls that change nothing at the broker, so asking another broker after a lost answer is safe. */
const IDEMPOTENT = new Set(['GET', 'HEAD'])

/** The system's or undici's code of a connection failure (fetch and undici put it on the cause). */
export function errorCode(error: NodeJS.ErrnoException): string {
  return error.code ?? (error.cause as NodeJS.ErrnoException | undefined)?.code ?? ''
}

export function isTlsFailure(error: NodeJS.ErrnoException): boolean {
  const cause = error.cause as Error | undefined
  return /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(errorCode(error)) || /certificate|TLS|SSL/i.test(`${error.message} ${cause?.message ?? ''}`)
}

/**
 * Whether a failed call may go to the next broker: never after a TLS failure (a certificate
 * problem is reported, not routed around), always when the call never left, and otherwise only
 * for a read: a POST the broker may have carried out is not sent twice.
 */
export function mayTryNextBroker(method: string, error: NodeJS.ErrnoException): boolean {
  if (isTlsFailure(error)) return false
  return NOT_SENT.has(errorCode(error)) || IDEMPOTENT.has(method.toUpperCase())
}
