// X.509-SVIDs: the workload makes its key and sends a PKCS#10 request; jit checks the request's
// signature (the workload holds the key) and that it asks for no name but the workload's SPIFFE
// ID, then signs a leaf whose only URI SAN is that ID (X509-SVID standard: one URI SAN, CA false,
// digitalSignature, never keyCertSign), for client and server authentication alike, valid for
// minutes and never past the end of the session that asked.
import { badInput } from '../api-error.js'
import type { SpiffeAuthority } from './authority.js'
import { serialNumber } from './authority.js'
import { requireSpiffeId } from './spiffe-id.js'
import { CA_ALGORITHM, x509 } from './x509-lib.js'

/** An X.509-SVID lives this long unless asked for less (and never past the session's end). */
export const DEFAULT_X509_SVID_SECONDS = 3600
/** Clocks of relying servers run a little behind: the SVID is valid from a minute ago. */
const BACKDATE_MS = 60_000
/** CN is at most 64 characters (RFC 5280 ub-common-name). */
const MAX_CN = 64
const SAN_OID = '2.5.29.17'

export interface X509SvidRequest {
  spiffeId: string
  csrPem: string
  /** The latest end the caller allows (its session's end); the SVID ends then or sooner. */
  notAfter: Date
  now?: number
}

export interface X509Svid {
  spiffeId: string
  /** The leaf, PEM. */
  certificate: string
  /** The leaf then the CA certificate, PEM: what a TLS client or server sends. */
  chain: string
  serialNumber: string
  notBefore: string
  notAfter: string
}

/** Key types every stock TLS stack takes: ECDSA P-256/P-384, Ed25519, RSA of 2048 bits or more. */
function checkKeyAlgorithm(algorithm: Algorithm): void {
  const { name } = algorithm
  const curve = (algorithm as EcKeyAlgorithm).namedCurve
  const bits = (algorithm as RsaHashedKeyAlgorithm).modulusLength
  if (name === 'ECDSA' && (curve === 'P-256' || curve === 'P-384')) return
  if (name === 'Ed25519') return
  if ((name === 'RSASSA-PKCS1-v1_5' || name === 'RSA-PSS') && bits >= 2048) return
  throw badInput(`The CSR's key (${name}${curve ? ` ${curve}` : ''}${bits ? ` ${bits} bits` : ''}) is not one jit certifies.`, ['Make an ECDSA P-256 key (openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 ...), an Ed25519 key or an RSA key of 2048 bits or more.'])
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  if (!/^-----BEGIN (NEW )?CERTIFICATE REQUEST-----[\s\S]+-----END (NEW )?CERTIFICATE REQUEST-----\s*$/.test(csrPem.trim())) {
    throw badInput('The CSR is not a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----).')
  }
  try {
    return new x509.Pkcs10CertificateRequest(csrPem.trim().replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'))
  } catch {
    throw badInput('The CSR could not be read as PKCS#10.')
  }
}

/** The names the CSR asks for: only the SPIFFE ID, as its one URI SAN, or none (jit sets it). */
function checkRequestedNames(csr: x509.Pkcs10CertificateRequest, spiffeId: string): void {
  // Every SAN extension counts: a request that repeats it must not slip a second one past.
  const names = csr.getExtensions(SAN_OID).flatMap((extension) => new x509.SubjectAlternativeNameExtension(extension.rawData).names.items)
  if (names.length === 0) return
  const wrong = names.filter((name) => name.type !== 'url' || name.value !== spiffeId)
  if (wrong.length > 0 || names.length > 1) {
    throw badInput(`The CSR asks for ${names.map((name) => `${name.type}:${name.value}`).join(', ').slice(0, 300)}; this workload may only have ${spiffeId}.`, ['Leave the subject alternative name out of the CSR (jit sets it), or give exactly the workload\'s SPIFFE ID as its one URI.'])
  }
}

/** Checks the request and signs the workload's X.509-SVID; a 400 and nothing signed when the request is not right. */
export async function issueX509Svid(authority: SpiffeAuthority, request: X509SvidRequest): Promise<X509Svid> {
  requireSpiffeId(request.spiffeId, authority.trustDomain)
  const now = request.now ?? Date.now()
  if (!(request.notAfter instanceof Date) || Number.isNaN(request.notAfter.getTime()) || request.notAfter.getTime() <= now) {
    throw badInput('The X.509-SVID would end before it starts: its session is over.')
  }
  const csr = parseCsr(request.csrPem)
  let signed = false
  try {
    signed = await csr.verify()
  } catch {
    signed = false
  }
  if (!signed) throw badInput('The CSR\'s signature does not verify with its own key.', ['Sign the request with the key it carries (openssl req -new -key KEY ...).'])
  checkKeyAlgorithm(csr.publicKey.algorithm)
  checkRequestedNames(csr, request.spiffeId)

  const notAfter = new Date(Math.min(request.notAfter.getTime(), now + DEFAULT_X509_SVID_SECONDS * 1000))
  const notBefore = new Date(now - BACKDATE_MS)
  const publicKey = await csr.publicKey.export()
  const serial = serialNumber()
  const ca = authority.caCertificate
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    // Servers that map a client certificate to a user name read the CN (Mosquitto's
    // use_identity_as_username, PostgreSQL's cert auth): it carries the SPIFFE ID when it fits.
    subject: request.spiffeId.length <= MAX_CN ? [{ O: ['SPIFFE'] }, { CN: [request.spiffeId] }] : [{ O: ['SPIFFE'] }],
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: CA_ALGORITHM,
    publicKey,
    signingKey: authority.caSigningKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: request.spiffeId }]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  })
  const certificate = `${leaf.toString('pem')}\n`
  return {
    spiffeId: request.spiffeId,
    certificate,
    chain: `${certificate}${ca.toString('pem')}\n`,
    serialNumber: serial,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
  }
}
