// Hard bounds on what any request may ask, whatever the policy says.
export const MIN_TTL_SECONDS = 60
export const MAX_TTL_SECONDS = 24 * 3600
/** A request nobody decided on within this time expires. */
export const PENDING_TIMEOUT_SECONDS = 3600
/** Requests one user may have waiting for approval at once: nobody floods the approvers' queue. */
export const MAX_PENDING_PER_USER = 20
export const SCOPE_PATTERN = /^[a-z][a-z0-9-]{0,63}$/
