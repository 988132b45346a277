// One error type per kind of failure. Each carries the exit code from the brief's table and a
// next step the user can take. Messages never contain secrets, stack traces or raw causes.

export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  policyDenied: 3,
  notApproved: 4,
  unreachable: 5,
  keychain: 6,
  reviewBlocked: 7,
  pending: 8,
  auth: 9,
  auditBroken: 10,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export class JitError extends Error {
  readonly exitCode: ExitCode = ExitCode.unexpected
  readonly code: string = 'unexpected'
  constructor(message: string, readonly nextSteps: string[] = [], readonly details: Record<string, unknown> = {}) {
    super(message)
    this.name = new.target.name
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, exitCode: this.exitCode, message: this.message, nextSteps: this.nextSteps, ...this.details }
  }
}

export class UsageError extends JitError {
  readonly exitCode = ExitCode.usage
  readonly code = 'bad-input'
}

export class PolicyDeniedError extends JitError {
  readonly exitCode = ExitCode.policyDenied
  readonly code = 'policy-denied'
  constructor(message: string, readonly reasons: string[], nextSteps: string[] = []) {
    super(message, nextSteps, { reasons })
  }
}

export class NotApprovedError extends JitError {
  readonly exitCode = ExitCode.notApproved
  readonly code = 'not-approved'
}

export class BrokerUnreachableError extends JitError {
  readonly exitCode = ExitCode.unreachable
  readonly code = 'broker-unreachable'
}

export class KeychainError extends JitError {
  readonly exitCode = ExitCode.keychain
  readonly code = 'keychain-unavailable'
}

export class ReviewBlockedError extends JitError {
  readonly exitCode = ExitCode.reviewBlocked
  readonly code = 'review-required'
}

export class PendingError extends JitError {
  readonly exitCode = ExitCode.pending
  readonly code = 'pending'
}

export class AuthError extends JitError {
  readonly exitCode = ExitCode.auth
  readonly code = 'auth-failed'
}

/** `jit audit verify`: the audit chain does not check (edited, deleted, reordered, truncated or rewritten records). */
export class AuditChainBrokenError extends JitError {
  readonly exitCode = ExitCode.auditBroken
  readonly code = 'audit-chain-broken'
}

/** A policy, inventory or cases file with mistakes; each problem has file, line and column. */
export class PolicyInvalidError extends JitError {
  readonly exitCode = ExitCode.usage
  readonly code = 'policy-invalid'
}

/** `jit policy test`: some case decided otherwise than it expects. */
export class PolicyTestFailedError extends JitError {
  readonly exitCode = ExitCode.usage
  readonly code = 'policy-test-failed'
}

/** Maps a broker problem `code` back to the CLI error type that carries the right exit code. */
export function errorForProblem(problem: { code?: string; detail?: string; title?: string; reasons?: string[]; nextSteps?: string[] } & Record<string, unknown>): JitError {
  const message = problem.detail ?? problem.title ?? 'The broker refused the request.'
  const next = problem.nextSteps ?? []
  const extra: Record<string, unknown> = {}
  for (const key of ['requestId', 'holder', 'until', 'reviewId', 'clock', 'offsetSeconds', 'brokerTime'] as const) if (problem[key] !== undefined) extra[key] = problem[key]
  switch (problem.code) {
    case 'bad-input':
    case 'not-found':
      return new UsageError(message, next, extra)
    case 'policy-denied': {
      const denied = new PolicyDeniedError(message, problem.reasons ?? [], next)
      // An exclusive-control refusal also names who holds the asset and until when.
      Object.assign(denied.details, extra)
      return denied
    }
    case 'not-approved':
      return new NotApprovedError(message, next, extra)
    case 'review-required':
      return new ReviewBlockedError(message, next, extra)
    case 'auth-failed':
      return new AuthError(message, next.length > 0 ? next : ['Enroll this device again: jit login --broker URL --code CODE'], extra)
    case 'forbidden':
      return new PolicyDeniedError(message, problem.reasons ?? [message], next)
    default:
      return new JitError(message, next, extra)
  }
}
