// The inventory: files with line-precise errors, stored attributes read back fail-closed, and
// windows typed on a command line.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { attributeProblems, factsOf, loadInventoryFile, parseInventory, parseWindowSpec } from '../../../src/policy/inventory.js'
import { PolicyLoadError } from '../../../src/policy/yaml-source.js'

const problemsOf = (text: string) => {
  try {
    parseInventory(text, 'inv.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyLoadError)
    return (error as PolicyLoadError).problems.map((p) => `${p.line}:${p.column}: ${p.message}`)
  }
  throw new Error('expected the inventory to be refused')
}

describe('inventory files', () => {
  it('loads the demo plant with defaults filled in', () => {
    const assets = loadInventoryFile(join(import.meta.dirname, '../../fixtures/plant/inventory.yaml'))
    expect(assets).toHaveLength(5)
    expect(assets[0]).toEqual({
      path: 'plant-a/line-3/cell-2/plc-07',
      attributes: {
        owner: 'line-3-leads',
        safetyCritical: true,
        state: 'running',
        timezone: 'Europe/Berlin',
        windows: [{ days: ['sat'], from: '02:00', to: '06:00' }],
        vendors: ['acme-automation'],
      },
    })
    expect(assets[4].attributes.timezone).toBe('America/Chicago')
  })

  it.each([
    { name: 'a bad path', text: 'version: 1\nassets:\n  - path: Plant A/line 3\n', problems: ['3:11: "Plant A/line 3" is not an asset path (site/area/line/cell/asset: lower-case letters, digits, . _ -)'] },
    { name: 'a duplicate path', text: 'version: 1\nassets:\n  - path: a/b\n  - path: a/b\n', problems: ['4:11: asset a/b is listed twice'] },
    { name: 'a bad state', text: 'version: 1\nassets:\n  - { path: a/b, state: broken }\n', problems: ['3:25: assets.0.state: expected one of "running", "maintenance", "stopped", "offline"'] },
    {
      name: 'a window without any time zone',
      text: "version: 1\nassets:\n  - path: a/b\n    maintenance_windows: [{ days: [sat], from: '02:00', to: '06:00' }]\n",
      problems: ['4:27: a maintenance window needs a time zone: set timezone on the window, the asset or the file'],
    },
    {
      name: 'an unknown weekday and time zone',
      text: "version: 1\ntimezone: Berlin/Europe\nassets:\n  - path: a/b\n    maintenance_windows: [{ days: [saturday], from: '02:00', to: '06:00' }]\n",
      problems: ['5:36: assets.0.maintenance_windows.0.days.0: expected one of "sun", "mon", "tue", "wed", "thu", "fri", "sat"'],
    },
    { name: 'a bad time zone', text: 'version: 1\ntimezone: Berlin/Europe\nassets:\n  - path: a/b\n', problems: ['2:11: "Berlin/Europe" is not a time zone; expected an IANA name such as Europe/Berlin'] },
  ])('$name', ({ text, problems }) => {
    expect(problemsOf(text)).toEqual(problems)
  })
})

describe('stored attributes as facts', () => {
  it('reads a full record', () => {
    expect(factsOf('a/b', { owner: 'g', safetyCritical: true, state: 'stopped', timezone: 'Europe/Berlin', windows: [{ days: ['sat'], from: '22:00', to: '02:00' }], vendors: ['acme'] })).toEqual({
      path: 'a/b', owner: 'g', safetyCritical: true, state: 'stopped', timeZone: 'Europe/Berlin',
      windows: [{ days: ['sat'], start: 22 * 60, end: 2 * 60, timeZone: 'Europe/Berlin' }], vendors: ['acme'],
    })
  })

  it('fails closed on anything malformed: unknown state is offline, broken windows and vendors are dropped', () => {
    const facts = factsOf('a/b', { state: 'on fire', safetyCritical: 'yes', windows: [{ days: ['sat'], from: '2am', to: '06:00' }, { days: ['sat'], from: '02:00', to: '06:00' }], vendors: 'acme' })
    expect(facts).toMatchObject({ state: 'offline', safetyCritical: false, windows: [], vendors: [] })
  })

  it('a record from before inventories had states counts as running', () => {
    expect(factsOf('a/b', {}).state).toBe('running')
  })

  it('checks attributes before they are stored', () => {
    expect(attributeProblems({ state: 'running', windows: [{ days: ['sat'], from: '02:00', to: '06:00' }] })).toEqual(['a maintenance window needs a time zone: give the asset one (--timezone) or the window'])
    expect(attributeProblems({ timezone: 'Nowhere/Land' })).toEqual(['"Nowhere/Land" is not a time zone (e.g. Europe/Berlin)'])
    expect(attributeProblems({ state: 'running', timezone: 'Europe/Berlin', windows: [{ days: ['sat'], from: '02:00', to: '06:00' }] })).toEqual([])
  })
})

describe('windows typed on a command line', () => {
  it.each([
    ['sat 02:00-06:00', { days: ['sat'], from: '02:00', to: '06:00' }],
    ['fri,sat 22:00-02:00', { days: ['fri', 'sat'], from: '22:00', to: '02:00' }],
    ['daily 00:00–04:00', { days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], from: '00:00', to: '04:00' }],
    ['saturday 02:00-06:00', undefined],
    ['sat 2-6', undefined],
    ['sat 06:00-06:00', undefined],
    ['sat 25:00-06:00', undefined],
  ])('%s', (text, want) => {
    expect(parseWindowSpec(text)).toEqual(want)
  })
})

describe('inventory files: the gateway in front of an asset', () => {
  it('stores the gateway, its endpoint, allowed scopes and terminal flag as the gateway reads them', () => {
    const [asset] = parseInventory(`version: 1
assets:
  - path: plant-a/line-3/cell-2/plc-07
    gateway: { name: gw-line-3, endpoint: '10.3.2.7:502', scopes: [diagnose], terminal: true }
`)
    expect(asset.attributes).toMatchObject({ gateway: 'gw-line-3', endpoint: '10.3.2.7:502', endpointScopes: ['diagnose'], terminal: true })
  })

  it('refuses an endpoint without a usable port, and a gateway without a name, each at its line', () => {
    expect(problemsOf(`version: 1
assets:
  - path: plant-a/line-3/cell-2/plc-07
    gateway: { name: gw-line-3, endpoint: '10.3.2.7:70000' }
`)).toEqual([expect.stringMatching(/^4:\d+: "10\.3\.2\.7:70000" is not HOST:PORT/)])
    expect(problemsOf(`version: 1
assets:
  - path: plant-a/line-3/cell-2/plc-07
    gateway: { endpoint: '10.3.2.7:502' }
`).join('\n')).toMatch(/^4:\d+: .*name/)
  })
})

describe('targets in inventory files', () => {
  const withTarget = (target: string) => `version: 1
assets:
  - path: plant-a/line-3/cell-2/historian-01
    target: ${target}
`
  it('keeps a target whose admin password is named and whose scopes map to role names', () => {
    const [asset] = parseInventory(withTarget("{ kind: postgres, url: 'postgres://jit_admin@10.3.2.9:5432/plant', password: { env: PLANT_PG_PASSWORD }, scopes: { read: [app_read], diagnose: [app_read, app_write] } }"))
    expect(asset.attributes.target).toEqual({ kind: 'postgres', url: 'postgres://jit_admin@10.3.2.9:5432/plant', password: { env: 'PLANT_PG_PASSWORD' }, scopes: { read: ['app_read'], diagnose: ['app_read', 'app_write'] } })
    expect(attributeProblems(asset.attributes)).toEqual([])
  })

  it('refuses a password written in the URL, a literal password, mqtt for now, and SQL where a role name goes', () => {
    expect(problemsOf(withTarget("{ kind: postgres, url: 'postgres://admin:hunter2@db/plant', password: { env: X }, scopes: { read: [app_read] } }")).join('\n')).toMatch(/^4:\d+: target url must not carry a password/)
    expect(problemsOf(withTarget("{ kind: postgres, url: 'postgres://admin@db/plant', password: hunter2, scopes: { read: [app_read] } }")).join('\n')).toMatch(/password/)
    expect(problemsOf(withTarget("{ kind: mqtt, url: 'postgres://admin@db/plant', password: { file: /etc/jit/pw }, scopes: { read: [app_read] } }")).join('\n')).toMatch(/mqtt is not supported yet/)
    expect(problemsOf(withTarget("{ kind: postgres, url: 'postgres://admin@db/plant', password: { env: X }, scopes: { read: ['app_read; DROP TABLE x'] } }")).join('\n')).toMatch(/scopes/)
  })

  it('the same checks guard attributes stored directly (jit admin asset add)', () => {
    expect(attributeProblems({ target: { kind: 'postgres', url: 'postgres://admin@db/plant?password=x', password: { env: 'X' }, scopes: { read: ['app_read'] } } })).toEqual([
      'target url must not carry a password: name it with password: { env } or { file }',
    ])
    expect(attributeProblems({ target: { kind: 'postgres', url: 'postgres://admin@db/plant', password: { env: 'X' }, scopes: {} } })).toEqual(['target scopes must map at least one scope to the roles it grants'])
  })
})
