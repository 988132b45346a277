// What the policy says about workloads: the `workloads:` selector of `who` (names, SPIFFE ID
// patterns, owners) and the conditions on a job's declared intent and the address its call came
// from (source_host: addresses and CIDR blocks). A workload is selected by `workloads:` only, and
// a person never by it, so a rule for people never admits a machine by accident.
import { BlockList, isIP } from 'node:net'
import type { Rule, Subject, WorkloadSelector } from './types.js'

const globs = new Map<string, RegExp>()

/** `*` matches any run of characters; everything else stands for itself. */
export function globMatches(pattern: string, value: string): boolean {
  let re = globs.get(pattern)
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`)
    globs.set(pattern, re)
  }
  return re.test(value)
}

export function workloadSelected(selector: WorkloadSelector | undefined, workload: NonNullable<Subject['workload']>): boolean {
  if (!selector) return false
  return Boolean(
    selector.names?.includes(workload.name) ||
      selector.spiffe_ids?.some((pattern) => globMatches(pattern, workload.spiffeId)) ||
      selector.owners?.includes(workload.owner),
  )
}

/** An IPv4 address as it arrives on a dual-stack socket (::ffff:10.0.0.5) is the IPv4 address. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
}

/** Why an entry of source_host is not an address or CIDR block; undefined when it is one. */
export function sourceHostProblem(entry: string): string | undefined {
  const [address, bits, extra] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR block (like 10.20.0.0/16)`
  if (bits === undefined) return undefined
  const max = family === 4 ? 32 : 128
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}" has a prefix length outside 0-${max}`
  return undefined
}

const blocks = new Map<string, BlockList>()

function blockListOf(entries: readonly string[]): BlockList {
  const key = entries.join(',')
  let list = blocks.get(key)
  if (!list) {
    list = new BlockList()
    for (const entry of entries) {
      const [address, bits] = entry.split('/')
      const type = isIP(address) === 4 ? 'ipv4' : 'ipv6'
      if (bits === undefined) list.addAddress(address, type)
      else list.addSubnet(address, Number(bits), type)
    }
    blocks.set(key, list)
  }
  return list
}

export function sourceHostAllowed(entries: readonly string[], sourceHost: string | undefined): boolean {
  if (!sourceHost) return false
  const address = plainAddress(sourceHost)
  const family = isIP(address)
  if (family === 0) return false
  return blockListOf(entries).check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** Why the rule's intent and source_host conditions do not hold; empty when they do (or it has none). */
export function jobConditionMisses(rule: Rule, intent: string | undefined, sourceHost: string | undefined): string[] {
  const misses: string[] = []
  const { intent: intents, sourceHost: hosts } = rule.conditions
  if (intents && !(intent !== undefined && intents.some((pattern) => globMatches(pattern, intent)))) {
    misses.push(`rule ${rule.name} allows only the intent ${intents.join(' or ')}; ${intent === undefined ? 'none was declared' : `${intent} was declared`}`)
  }
  if (hosts && !sourceHostAllowed(hosts, sourceHost)) {
    misses.push(`rule ${rule.name} allows calls only from ${hosts.join(', ')}; this one came from ${sourceHost ? plainAddress(sourceHost) : 'an unknown address'}`)
  }
  return misses
}
