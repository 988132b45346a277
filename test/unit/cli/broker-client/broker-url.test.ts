import { describe, expect, it } from 'vitest'
import { brokerList, checkBrokerUrl } from '../../../../src/cli/broker-client/broker-client.js'
import { mayTryNextBroker } from '../../../../src/util/broker-failover.js'
import { UsageError } from '../../../../src/errors.js'

describe('checkBrokerUrl', () => {
  it('accepts https anywhere and plain http on loopback', () => {
    for (const url of ['https://broker.plant-a.example:8443', 'http://127.0.0.1:8443', 'http://localhost:1', 'http://[::1]:8443', 'http://127.0.0.2:80']) {
      expect(checkBrokerUrl(url, false).href).toContain(new URL(url).host)
    }
  })

  it('refuses plain http off loopback unless told --insecure', () => {
    expect(() => checkBrokerUrl('http://10.0.0.5:8443', false)).toThrow(/Refusing plain HTTP/)
    // Names that merely start like a loopback address are names, resolved by whoever runs DNS.
    for (const url of ['http://127.example.net:8443', 'http://127.0.0.1.nip.io', 'http://localhost.evil.example', 'http://[::ffff:10.0.0.5]']) {
      expect(() => checkBrokerUrl(url, false), url).toThrow(/Refusing plain HTTP/)
    }
    expect(checkBrokerUrl('http://10.0.0.5:8443', true).protocol).toBe('http:')
  })

  it('refuses what is not an http(s) URL', () => {
    expect(() => checkBrokerUrl('broker:8443', false)).toThrow(UsageError)
    expect(() => checkBrokerUrl('ftp://broker', false)).toThrow(/https/)
    expect(() => checkBrokerUrl('not a url', false)).toThrow(/not a URL/)
  })
})

describe('several brokers', () => {
  it('--broker takes a comma-separated list, each URL checked, the same broker once', () => {
    expect(brokerList('https://b1.plant.example:8443, https://b2.plant.example:8443,https://b1.plant.example:8443/', false).map((u) => u.origin)).toEqual([
      'https://b1.plant.example:8443',
      'https://b2.plant.example:8443',
    ])
    expect(() => brokerList('https://b1.plant.example, http://10.0.0.5:8443', false)).toThrow(/Refusing plain HTTP/)
    expect(() => brokerList(' , ', false)).toThrow(/No broker URL/)
  })

  it('the next broker is asked after a failure only when the call cannot have been carried out twice', () => {
    const failure = (code: string, message = 'failed') => Object.assign(new Error(message), { code })
    // Never connected: any call may go elsewhere.
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']) {
      expect(mayTryNextBroker('POST', failure(code)), code).toBe(true)
    }
    // The call left and the answer was lost: a read is asked again, a change is not.
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT']) {
      expect(mayTryNextBroker('POST', failure(code)), code).toBe(false)
      expect(mayTryNextBroker('GET', failure(code)), code).toBe(true)
    }
    // A certificate problem is reported, not routed around.
    expect(mayTryNextBroker('GET', failure('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'))).toBe(false)
    // undici puts the socket's code on the cause.
    expect(mayTryNextBroker('POST', Object.assign(new Error('fetch failed'), { cause: failure('ECONNREFUSED') }))).toBe(true)
  })
})
