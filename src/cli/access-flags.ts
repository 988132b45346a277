// Flags shared by every command that opens a session (request, exec).
import { Flags } from '@oclif/core'

export const accessFlags = {
  ticket: Flags.string({ required: true, env: 'JIT_TICKET', summary: 'Work order, change or incident id the work is for.' }),
  asset: Flags.string({ required: true, summary: 'Asset path, e.g. plant-a/line-3/cell-2/plc-07.' }),
  scope: Flags.string({ required: true, summary: 'What you need to do, e.g. read, diagnose, control.' }),
  ttl: Flags.string({ default: '30m', summary: 'How long the access should last (e.g. 30m, 2h).' }),
  reason: Flags.string({ summary: 'Why you need the access (goes to the approver and the audit log).' }),
}
