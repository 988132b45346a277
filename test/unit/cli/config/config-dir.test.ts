import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { configDir } from '../../../../src/cli/config/config.js'
import { ownerOnlyAcl } from '../../../../src/util/private-folder.js'

describe('configDir', () => {
  it('is each platform\'s place for an application\'s settings', () => {
    expect(configDir('win32', { APPDATA: 'C:\\Users\\tess\\AppData\\Roaming' }, 'C:\\Users\\tess')).toBe(join('C:\\Users\\tess\\AppData\\Roaming', 'jit'))
    expect(configDir('darwin', {}, '/Users/tess')).toBe('/Users/tess/Library/Application Support/jit')
    expect(configDir('linux', {}, '/home/tess')).toBe('/home/tess/.config/jit')
  })

  it('JIT_HOME, then XDG_CONFIG_HOME, come first everywhere', () => {
    expect(configDir('win32', { JIT_HOME: '/j', APPDATA: 'C:\\x' }, '/h')).toBe('/j')
    expect(configDir('darwin', { XDG_CONFIG_HOME: '/xdg' }, '/Users/tess')).toBe('/xdg/jit')
  })
})

describe('ownerOnlyAcl', () => {
  it('cuts inheritance and grants full control to the user, SYSTEM and Administrators only, inherited inside', () => {
    expect(ownerOnlyAcl('C:\\jit\\data', 'PLANT\\tess')).toEqual(['C:\\jit\\data', '/inheritance:r', '/grant:r', 'PLANT\\tess:(OI)(CI)F', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F', '/Q'])
  })
})
