// X.509-SVID signings per second: the broker's issuing step (CSR parsed, its signature checked,
// the requested names checked, the leaf built and signed by the SPIFFE CA, ECDSA P-256) on one
// core, for CSRs made by workloads beforehand (each its own P-256 key, outside the clock).
import { issueX509Svid } from '../../dist/src/broker/spiffe/x509-svid.js'
import { loadOrCreateSpiffeAuthority } from '../../dist/src/broker/spiffe/authority.js'
import { x509, CA_ALGORITHM } from '../../dist/src/broker/spiffe/x509-lib.js'
import { median, nowMs, percentile, type BenchRow, type Section } from '../lib.ts'
import { removeDirs, tempDir } from '../support.ts'

const SPIFFE_ID = 'spiffe://plant-a.example/workload/historian-export'

const section: Section = async ({ quick }) => {
  const dir = tempDir('jit-bench-spiffe-')
  try {
    const authority = await loadOrCreateSpiffeAuthority(dir, 'plant-a.example')
    const count = quick ? 20 : 2000
    const csrs: string[] = []
    for (let i = 0; i < count; i++) {
      const keys = await crypto.subtle.generateKey(CA_ALGORITHM, false, ['sign', 'verify'])
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=w${i}`, keys, signingAlgorithm: CA_ALGORITHM })
      csrs.push(csr.toString('pem'))
    }
    const notAfter = new Date(Date.now() + 3_600_000)
    const latencies: number[] = []
    const start = nowMs()
    for (const csrPem of csrs) {
      const t0 = nowMs()
      await issueX509Svid(authority, { spiffeId: SPIFFE_ID, csrPem, notAfter })
      latencies.push(nowMs() - t0)
    }
    const seconds = (nowMs() - start) / 1000
    const rows: BenchRow[] = [
      { section: 'spiffe', name: 'X.509-SVID signings/s (CSR checked, leaf signed, one core)', value: Math.round(count / seconds), unit: '/s', p50: median(latencies), p99: percentile(latencies, 99) },
    ]
    return rows
  } finally {
    removeDirs(dir)
  }
}

export default section
