// How a failure of the keychain binding is told: locked (with how to unlock on each platform) or
// not there at all (how to get one). Both are exit 6; neither ever says to enroll again.
import { describe, expect, it } from 'vitest'
import { keychainFailure } from '../../../../src/cli/keychain/keychain.js'

describe('keychain failures', () => {
  it('a locked collection or keychain: how to unlock on Linux, macOS and Windows', () => {
    for (const message of ['Couldn\'t access platform storage: Secret Service: unlock prompt was dismissed', 'User interaction is not allowed.']) {
      const error = keychainFailure('read', message)
      expect(error.exitCode).toBe(6)
      expect(error.message).toMatch(/^The OS keychain is locked \(read\)/)
      expect(error.nextSteps.join('\n')).toMatch(/gnome-keyring-daemon --replace --unlock[\s\S]*security unlock-keychain[\s\S]*Windows/)
    }
  })

  it('no Secret Service on the bus: how to get one, and --no-cache', () => {
    const error = keychainFailure('write', 'Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files')
    expect(error.exitCode).toBe(6)
    expect(error.message).toMatch(/^The OS keychain is unavailable \(write\)/)
    expect(error.nextSteps.join(' ')).toMatch(/gnome-keyring.*--no-cache/)
    expect(error.nextSteps.join(' ')).not.toMatch(/jit login/)
  })
})
