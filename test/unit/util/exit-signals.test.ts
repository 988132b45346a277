import { describe, expect, it } from 'vitest'
import { fromKeyboard, serverStopSignals, sessionEndingSignals } from '../../../src/util/exit-signals.js'

describe('the signals that end jit', () => {
  it('on Windows: Ctrl-C, Ctrl-Break and closing the console end a session (revoke first)', () => {
    expect(sessionEndingSignals('win32')).toEqual(expect.arrayContaining(['SIGINT', 'SIGBREAK', 'SIGHUP']))
    expect(sessionEndingSignals('win32')).not.toContain('SIGQUIT')
  })

  it('on Linux and macOS: the same four as ever', () => {
    for (const platform of ['linux', 'darwin'] as const) expect(sessionEndingSignals(platform)).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'])
  })

  it('the broker stops on a closing console on Windows, and reloads on SIGHUP elsewhere', () => {
    expect(serverStopSignals('win32')).toEqual(expect.arrayContaining(['SIGINT', 'SIGBREAK', 'SIGHUP']))
    expect(serverStopSignals('linux')).not.toContain('SIGHUP')
  })

  it('Ctrl-C and Ctrl-Break come from the keyboard (the command already got them)', () => {
    expect(fromKeyboard('SIGINT')).toBe(true)
    expect(fromKeyboard('SIGBREAK')).toBe(true)
    expect(fromKeyboard('SIGTERM')).toBe(false)
  })
})
