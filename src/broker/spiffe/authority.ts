// The broker's SPIFFE authority: an X.509 CA that signs X.509-SVIDs and a key that signs JWT-SVIDs,
// both ECDSA P-256 (stock TLS servers take P-256 client certificates everywhere, and the JWT-SVID
// standard allows ES256 but not EdDSA, so the broker's Ed25519 token key cannot sign them). The
// keys live in the data folder beside the other signing keys (0600), made on the broker's first
// start. The CA certificate is self-signed, names the trust domain (URI SAN spiffe://TRUST-DOMAIN)
// and is kept beside its key; it is made again for the same key when the trust domain changes.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { JWK } from 'jose'
import { makePrivateFolder } from '../../util/private-folder.js'
import { replaceFile } from '../../util/replace-file.js'
import { CA_ALGORITHM, webcrypto, x509 } from './x509-lib.js'
import { trustDomainId } from './spiffe-id.js'

export const CA_KEY_FILE = 'spiffe-ca-key.pem'
export const CA_CERT_FILE = 'spiffe-ca.pem'
export const JWT_KEY_FILE = 'spiffe-jwt-key.pem'

/** The CA certificate's life: long, since every relying server holds it (there is no CA rotation yet). */
const CA_VALIDITY_DAYS = 3650

/** What relying parties trust: the CA certificate and the JWT-SVID public key (the bundle). */
export interface SpiffeTrust {
  trustDomain: string
  caCertificate: x509.X509Certificate
  /** The JWT-SVID key's public half, with its kid. */
  jwtPublicJwk: JWK & { kid: string }
}

export interface SpiffeAuthority extends SpiffeTrust {
  caSigningKey: CryptoKey
  jwtPrivateKey: KeyObject
}

/** The data folder's SPIFFE keys and CA certificate for trustDomain, made where missing. */
export async function loadOrCreateSpiffeAuthority(dataDir: string, trustDomain: string): Promise<SpiffeAuthority> {
  makePrivateFolder(dataDir)
  const caKey = loadOrCreateKey(join(dataDir, CA_KEY_FILE))
  const jwtPrivateKey = loadOrCreateKey(join(dataDir, JWT_KEY_FILE))
  const caSigningKey = await webcrypto.subtle.importKey('pkcs8', caKey.export({ format: 'der', type: 'pkcs8' }), CA_ALGORITHM, false, ['sign'])
  const caCertificate = await loadOrCreateCaCertificate(join(dataDir, CA_CERT_FILE), caKey, caSigningKey, trustDomain)
  return { trustDomain, caCertificate, caSigningKey, jwtPrivateKey, jwtPublicJwk: publicJwkOf(jwtPrivateKey) }
}

/** The trust the data folder's SPIFFE authority publishes, as the broker made it (never makes one); undefined when it has none. */
export function readSpiffeTrust(dataDir: string): SpiffeTrust | undefined {
  if (!existsSync(join(dataDir, CA_CERT_FILE)) || !existsSync(join(dataDir, JWT_KEY_FILE))) return undefined
  const caCertificate = new x509.X509Certificate(readFileSync(join(dataDir, CA_CERT_FILE), 'utf8'))
  const trustDomain = uriSans(caCertificate)[0]?.slice('spiffe://'.length) ?? ''
  return { trustDomain, caCertificate, jwtPublicJwk: publicJwkOf(createPrivateKey(readFileSync(join(dataDir, JWT_KEY_FILE)))) }
}

/** The public half as a JWK, its kid the RFC 7638 thumbprint. */
function publicJwkOf(privateKey: KeyObject): JWK & { kid: string } {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  const kid = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url')
  return { ...jwk, kid }
}

function loadOrCreateKey(path: string): KeyObject {
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' })
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600)
  return createPrivateKey(readFileSync(path))
}

async function loadOrCreateCaCertificate(path: string, key: KeyObject, signingKey: CryptoKey, trustDomain: string): Promise<x509.X509Certificate> {
  const publicDer = createPublicKey(key).export({ format: 'der', type: 'spki' })
  if (existsSync(path)) {
    const existing = new x509.X509Certificate(readFileSync(path, 'utf8'))
    const sameKey = Buffer.from(existing.publicKey.rawData).equals(publicDer)
    if (sameKey && uriSans(existing).includes(trustDomainId(trustDomain)) && existing.notAfter.getTime() > Date.now()) return existing
  }
  const publicKey = await webcrypto.subtle.importKey('spki', publicDer, CA_ALGORITHM, true, ['verify'])
  const now = Date.now()
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ O: ['jit'] }, { CN: [`jit SPIFFE CA ${trustDomain}`.slice(0, 64)] }],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + CA_VALIDITY_DAYS * 86_400_000),
    signingAlgorithm: CA_ALGORITHM,
    keys: { privateKey: signingKey, publicKey },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainId(trustDomain) }]),
    ],
  })
  replaceFile(path, certificate.toString('pem') + '\n')
  return certificate
}

/** A positive 128-bit serial number in hex (RFC 5280 allows up to 20 octets). */
export function serialNumber(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] & 0x7f) | 0x01
  return bytes.toString('hex')
}

/** The URI names of a certificate's subject alternative name. */
export function uriSans(certificate: x509.X509Certificate): string[] {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension)
  return (san?.names.items ?? []).filter((name) => name.type === 'url').map((name) => name.value)
}
