// A failure the broker reports to its caller as application/problem+json.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { nextSteps?: string[]; reasons?: string[]; [key: string]: unknown } = {},
  ) {
    super(message)
  }
}

export const badInput = (message: string, nextSteps?: string[]) => new ApiError(400, 'bad-input', message, { nextSteps })
export const notFound = (what: string) => new ApiError(404, 'not-found', `${what} was not found.`)
export const forbidden = (message: string, reasons?: string[]) => new ApiError(403, 'forbidden', message, { reasons: reasons ?? [message] })
export const authFailed = (message: string) => new ApiError(401, 'auth-failed', message)
export const conflict = (message: string, extra: Record<string, unknown> = {}) => new ApiError(409, 'not-approved', message, extra)
