// Who may decide a pending request: separation of duties holds whatever the rules say.
// Nobody approves their own request, vendors approve nothing, approvers come from the roles
// the matched rule named (or the asset's owner group), and nobody counts twice.
import { isVendor } from './evaluate.js'
import type { Subject } from './types.js'

export interface PendingApproval {
  user: string
  approverRoles: string[]
  approvals: { by: string }[]
}

/** Why approver may not decide request; empty when they may. */
export function approvalRefusals(request: PendingApproval, approver: Subject): string[] {
  const reasons: string[] = []
  if (request.user === approver.name) reasons.push('nobody approves or denies their own request')
  if (isVendor(approver)) reasons.push('vendors approve nothing')
  if (!request.approverRoles.some((role) => approver.roles.includes(role))) reasons.push(`approval must come from: ${request.approverRoles.join(', ') || 'nobody (this request needs no approval)'}`)
  if (request.approvals.some((a) => a.by === approver.name)) reasons.push('you have already approved this request')
  return reasons
}
