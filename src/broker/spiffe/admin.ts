// `jit admin spiffe bundle export`, run on the broker host: the trust bundle from the data
// folder's key files (every broker of a database has the same ones), never making a CA where there
// was none — the broker makes its SPIFFE keys on its first start.
import { UsageError } from '../../errors.js'
import { readSpiffeTrust } from './authority.js'
import { bundlePem, spiffeBundle } from './bundle.js'

export type BundleFormat = 'spiffe' | 'pem'

export interface BundleExport {
  trustDomain: string
  format: BundleFormat
  text: string
}

export function exportBundle(dataDir: string, format: BundleFormat): BundleExport {
  const trust = readSpiffeTrust(dataDir)
  if (!trust) throw new UsageError(`${dataDir} holds no SPIFFE CA.`, ['Check --data; the broker creates its SPIFFE CA on its first start (jit broker start).'])
  const text = format === 'pem' ? bundlePem(trust) : `${JSON.stringify(spiffeBundle(trust), null, 2)}\n`
  return { trustDomain: trust.trustDomain, format, text }
}
