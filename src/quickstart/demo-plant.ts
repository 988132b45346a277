// The demo plant of `jit quickstart`: two lines, a few assets, people, and a policy.

export const DEMO_POLICY = `# Demo policy of jit quickstart.
version: 1
tickets:
  formats:
    - { system: workorder, pattern: '^WO-[0-9]{6}$' }
    - { system: incident, pattern: '^INC[0-9]{7}$' }
rules:
  - name: technicians-diagnose
    description: Technicians may read and diagnose anything on both lines, 2h at most.
    who: { roles: [technician] }
    assets: ['plant-a/line-1/**', 'plant-a/line-3/**']
    scopes: [read, diagnose]
    max_ttl: 2h
  - name: technicians-control
    description: Changing a controller needs a shift lead's approval.
    who: { roles: [technician] }
    assets: ['plant-a/line-1/**', 'plant-a/line-3/**']
    scopes: [control]
    max_ttl: 1h
    approval: { count: 1, from_roles: [shift-lead] }
  - name: vendor-line-3-diagnose
    description: ACME may diagnose line 3 under contract, with approval, no caching.
    who: { orgs: [acme-automation] }
    assets: ['plant-a/line-3/**']
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

export const DEMO_ASSETS: { path: string; attributes: Record<string, unknown> }[] = [
  { path: 'plant-a/line-1/cell-1/plc-01', attributes: { owner: 'line-1-leads', safetyCritical: false, state: 'running' } },
  { path: 'plant-a/line-1/cell-2/hmi-02', attributes: { owner: 'line-1-leads', safetyCritical: false, state: 'running' } },
  { path: 'plant-a/line-3/cell-2/plc-07', attributes: { owner: 'line-3-leads', safetyCritical: true, state: 'maintenance' } },
  { path: 'plant-a/line-3/cell-2/robot-04', attributes: { owner: 'line-3-leads', safetyCritical: true, state: 'running' } },
]

export const DEMO_USERS = {
  technician: { name: 'tess', roles: ['technician'] },
  approver: { name: 'sam', roles: ['shift-lead'] },
  vendor: { name: 'vic', roles: ['vendor'], org: 'acme-automation' },
} as const

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
