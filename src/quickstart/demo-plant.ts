// The demo plant of `jit quickstart`: two lines, a few assets, people, and a policy that shows
// maintenance windows, vendor contracts, two-person approval and exclusive control.
import { localTime } from '../policy/windows.js'

export const DEMO_POLICY = `# Demo policy of jit quickstart.
version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
    - { system: incident, pattern: '^INC[0-9]{7}$' }
  systems:
    # Work orders live in the broker's own register (jit admin ticket add|close|list): a request
    # needs an open one, for the asset or its line or cell, assigned to the requester.
    workorder: { connector: builtin }
rules:
  - name: technicians-diagnose
    description: Technicians may read and diagnose anything on both lines, 2h at most.
    who: { roles: [technician] }
    assets: ['plant-a/line-1/**', 'plant-a/line-3/**']
    scopes: [read, diagnose]
    max_ttl: 2h
  - name: control-in-window
    description: Control of a machine inside its maintenance window, with a shift lead's approval; one person at a time.
    who: { roles: [technician] }
    assets: ['plant-a/line-1/**', 'plant-a/line-3/**']
    scopes: [control]
    max_ttl: 1h
    ticket: { systems: [workorder] }
    conditions: { in_maintenance_window: true }
    approval: { count: 1, from_roles: [shift-lead] }
    exclusive: true
  - name: control-line-stopped
    description: Outside the window the line must be stopped, and two people agree (a shift lead and the machine's owner group).
    who: { roles: [technician] }
    assets: ['plant-a/line-1/**', 'plant-a/line-3/**']
    scopes: [control]
    max_ttl: 30m
    ticket: { systems: [workorder] }
    conditions: { asset_state: [stopped] }
    approval: { count: 2, from_roles: [shift-lead], from_owner_group: true }
    exclusive: true
  - name: vendor-diagnose
    description: Vendors may diagnose what their contract covers (the inventory says which assets), with approval, no caching.
    who: { orgs: [acme-automation] }
    assets: ['plant-a/**']
    scopes: [diagnose]
    max_ttl: 30m
    approval: { count: 1, from_roles: [shift-lead] }
    cache: false
break_glass:
  who: { roles: [technician] }
  assets: ['plant-a/line-3/**']
  scopes: [control]
  max_ttl: 15m
  notify: ['role:security']
  review_due: 24h
`

/**
 * The plant in this machine's time zone. A demo runs at any hour, so line 3's maintenance
 * window is set around now and line 1's a few hours ahead: the tour shows both sides.
 */
export function demoAssets(nowMs = Date.now(), timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'): { path: string; attributes: Record<string, unknown> }[] {
  const hour = Math.floor(localTime(nowMs, timezone).minute / 60)
  const at = (offset: number) => `${String((hour + offset + 24) % 24).padStart(2, '0')}:00`
  const daily = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
  const line3Window = [{ days: daily, from: at(-1), to: at(3) }]
  const line1Window = [{ days: daily, from: at(6), to: at(9) }]
  return [
    { path: DEMO_TOUR.line1Plc, attributes: { owner: 'line-1-leads', safetyCritical: true, state: 'running', timezone, windows: line1Window } },
    { path: 'plant-a/line-1/cell-2/hmi-02', attributes: { owner: 'line-1-leads', safetyCritical: false, state: 'running', timezone } },
    { path: 'plant-a/line-3/cell-2/plc-07', attributes: { owner: 'line-3-leads', safetyCritical: true, state: 'maintenance', timezone, windows: line3Window, vendors: ['acme-automation'] } },
    { path: 'plant-a/line-3/cell-2/robot-04', attributes: { owner: 'line-3-leads', safetyCritical: true, state: 'running', timezone } },
  ]
}

export const DEMO_USERS = {
  technician: { name: 'tess', roles: ['technician'] },
  approver: { name: 'sam', roles: ['shift-lead'] },
  vendor: { name: 'vic', roles: ['vendor'], org: 'acme-automation' },
  owner: { name: 'olga', roles: ['line-1-leads'] },
  colleague: { name: 'tom', roles: ['technician'] },
} as const

/** What the policy tour asks for. */
export const DEMO_TOUR = {
  line1Plc: 'plant-a/line-1/cell-1/plc-01',
  /** ACME's contract covers plc-07, not the robot. */
  outsideContract: 'plant-a/line-3/cell-2/robot-04',
  underContract: 'plant-a/line-3/cell-2/plc-07',
  /** Each person's work order for the tour (the register checks whom a work order is assigned to). */
  tickets: { vic: 'WO-104240', tess: 'WO-104241', tom: 'WO-104242' },
}

/** A work order that was closed last week: a request for it is refused. */
export const DEMO_CLOSED_TICKET = 'WO-104199'

/** The demo's work orders in the built-in register. */
export const DEMO_TICKETS: { id: string; asset: string; assignee?: string; org?: string; title: string; closed?: boolean }[] = [
  { id: 'WO-104233', asset: 'plant-a/line-3/cell-2/plc-07', assignee: 'tess', title: 'Conveyor E42 fault: jam-detection timer' },
  { id: 'WO-104240', asset: 'plant-a/line-3', org: 'acme-automation', title: 'ACME: PLC diagnostics on line 3' },
  { id: 'WO-104241', asset: 'plant-a/line-1/cell-1', assignee: 'tess', title: 'Line 1 cell 1: recipe change' },
  { id: 'WO-104242', asset: 'plant-a/line-1', assignee: 'tom', title: 'Line 1: sensor swap' },
  { id: DEMO_CLOSED_TICKET, asset: 'plant-a/line-3/cell-2/plc-07', assignee: 'tess', title: 'Firmware update (done)', closed: true },
]

export const DEMO_SESSION = {
  ticket: 'WO-104233',
  asset: 'plant-a/line-3/cell-2/plc-07',
  scope: 'control',
  ttl: '15m',
  reason: 'Conveyor E42 fault: adjust the jam-detection timer',
}

export const DEMO_BREAK_GLASS = {
  asset: 'plant-a/line-3/cell-2/robot-04',
  reason: 'Robot 04 stopped the line at 03:10; shift lead not answering',
  incident: 'INC0012345',
}

/** The review the demo files from a file, as an unattended run would. */
export const DEMO_REVIEW = `what_was_done: Cleared fault F-217 and restarted the robot controller
why_not_normal_path: Line 3 was down at night and no shift lead answered within 15 minutes
changes_to_asset: None; fault cleared, no parameters changed
rollback_needed: false
follow_up_ticket: WO-104301
`
