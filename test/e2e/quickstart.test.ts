// jit quickstart as a newcomer runs it: one command, exit 0, a real session end to end, with
// the OS keychain and without one.
import { describe, expect, it } from 'vitest'
import { cleanup, jit, keychainHas, tempDir } from './harness.js'

describe('jit quickstart', () => {
  it('walks one real session with the OS keychain and prints one JSON document', async () => {
    const home = tempDir()
    const result = await jit(['quickstart', '--json'], { home })
    expect(result.code).toBe(0)
    const summary = result.json()
    expect(summary).toMatchObject({ keychain: 'os', commandExitCode: 0, activeWhileRunning: true, activeAfterRevoke: false, auditIntact: true })
    expect(summary.auditEvents).toBeGreaterThanOrEqual(7)
    expect(summary.breakGlass).toMatchObject({ commandExitCode: 0, reviewState: 'filed' })
    expect(summary.drill.passed).toBe(true)
    expect(summary.drill.steps).toHaveLength(6)
    // Through the demo gateway: the PLC answered, and the revoke cut the live connection.
    expect(summary.gateway).toMatchObject({ echoed: true, connectionRecord: { endCause: 'revoked', asset: 'plant-a/line-3/cell-2/plc-07', bytesToAsset: 22, bytesFromAsset: 22 } })
    expect(summary.gateway.cutAfterMs).toBeLessThan(1000)
    expect(result.stderr).toMatch(/gateway says active: true/)
    // The policy tour: a vendor outside its contract, control outside the window, two approvers, exclusive control.
    expect(summary.policy.vendorOutsideContract).toContain('acme-automation has no contract for plant-a/line-3/cell-2/robot-04; vendors only reach assets their contract names')
    expect(summary.policy.vendorUnderContract).toBe('pending')
    expect(summary.policy.outsideWindow.join('\n')).toMatch(/rule control-in-window allows this only in the maintenance window of plant-a\/line-1\/cell-1\/plc-01/)
    expect(summary.policy.twoApprovers).toEqual({ rule: 'control-line-stopped', approvers: ['sam', 'olga'], state: 'approved' })
    expect(summary.policy.exclusive.holder).toBe('tess')
    expect(summary.policy.exclusive.reasons[0]).toMatch(/^control on plant-a\/line-1\/cell-1\/plc-01 is exclusive and held by tess until /)
    // Work orders: a closed one is refused, closing an open one ends its session.
    expect(summary.tickets.refusedClosed).toEqual(['ticket WO-104199 is closed; access needs an open ticket'])
    expect(summary.tickets.endedByClose).toMatchObject({ ticket: 'WO-104233', activeAfter: false })
    expect(summary.tickets.endedByClose.endedSessions).toEqual([summary.tickets.endedByClose.sessionId])
    // Nothing of the demo stays in the keychain: no credential, no demo device key.
    expect(summary.deviceIds).toHaveLength(5)
    for (const id of summary.deviceIds) {
      expect(await keychainHas(`device:${id}`)).toBe(false)
      expect(await keychainHas(`cred:${id}:${summary.sessionId}`)).toBe(false)
    }
    cleanup(home, summary.dataDir)
  })

  it('explains a missing keychain and still completes, secrets in memory only', async () => {
    const home = tempDir()
    const result = await jit(['quickstart'], { home, env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } })
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/No OS keychain here/)
    expect(result.stderr).toMatch(/gnome-keyring/)
    expect(result.stderr).toMatch(/introspection now says active: false/)
    expect(result.stderr).toMatch(/Audit chain intact: true/)
    cleanup(home)
  })
})
