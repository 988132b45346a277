import { describe, expect, it } from 'vitest'
import { isWorkloadPrincipal, spiffeIdOf, spiffeIdProblem, trustDomainOf, trustDomainProblem } from '../../../../src/broker/spiffe/spiffe-id.js'

describe('SPIFFE IDs and trust domains', () => {
  it.each([
    ['spiffe://plant-a.example/workload/historian-export', undefined],
    ['spiffe://plant-a.example/a/b.c_d-e', undefined],
    ['spiffe://plant-b.example/workload/x', /starts with spiffe:\/\/plant-a\.example\//],
    ['spiffe://plant-a.example', /starts with/],
    ['spiffe://plant-a.example/', /empty segment/],
    ['spiffe://plant-a.example/a//b', /empty segment/],
    ['spiffe://plant-a.example/a/', /empty segment/],
    ['spiffe://plant-a.example/a/../b', /"\." or "\.\."/],
    ['spiffe://plant-a.example/a?b=c', /only letters/],
    ['spiffe://plant-a.example/a#b', /only letters/],
    ['spiffe://plant-a.example/caf%C3%A9', /only letters/],
    ['SPIFFE://plant-a.example/a', /starts with/],
    ['spiffe://plant-a.example:8443/a', /starts with/],
    [`spiffe://plant-a.example/${'a'.repeat(2100)}`, /at most 2048 bytes/],
  ])('%s', (id, problem) => {
    const found = spiffeIdProblem(id, 'plant-a.example')
    if (problem === undefined) expect(found).toBeUndefined()
    else expect(found).toMatch(problem)
  })

  it('trust domain names are lower case letters, digits, ".", "-" and "_"', () => {
    expect(trustDomainProblem('plant-a.example')).toBeUndefined()
    expect(trustDomainProblem('Plant-A')).toMatch(/lower case/)
    expect(trustDomainProblem('plant a')).toMatch(/lower case/)
    expect(trustDomainProblem('')).toMatch(/1 to 255/)
  })

  it('a workload\'s SPIFFE ID names its trust domain and marks it a workload principal', () => {
    const id = spiffeIdOf('plant-a.example', 'historian-export')
    expect(id).toBe('spiffe://plant-a.example/workload/historian-export')
    expect(spiffeIdProblem(id, 'plant-a.example')).toBeUndefined()
    expect(trustDomainOf(id)).toBe('plant-a.example')
    expect([isWorkloadPrincipal(id), isWorkloadPrincipal('tess')]).toEqual([true, false])
  })
})
