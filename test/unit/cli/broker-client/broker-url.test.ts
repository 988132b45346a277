import { describe, expect, it } from 'vitest'
import { checkBrokerUrl } from '../../../../src/cli/broker-client/broker-client.js'
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
