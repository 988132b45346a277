import { describe, expect, it } from 'vitest'
import { keychainBackend, versionsCompatible } from '../../../src/cli/version-report.js'

describe('versionsCompatible', () => {
  it('pairs the same major, and while 0.x the same minor', () => {
    expect(versionsCompatible('1.2.3', '1.9.0')).toBe(true)
    expect(versionsCompatible('1.2.3', '2.0.0')).toBe(false)
    expect(versionsCompatible('0.1.0', '0.1.7')).toBe(true)
    expect(versionsCompatible('0.1.0', '0.2.0')).toBe(false)
  })

  it('calls a version it cannot read incompatible', () => {
    expect(versionsCompatible('0.1.0', 'dev')).toBe(false)
  })
})

describe('keychainBackend', () => {
  it('names the store the binding uses on each platform', () => {
    expect(keychainBackend('win32')).toBe('Windows Credential Manager')
    expect(keychainBackend('darwin')).toBe('macOS Keychain')
    expect(keychainBackend('linux')).toBe('Secret Service (D-Bus)')
  })
})
