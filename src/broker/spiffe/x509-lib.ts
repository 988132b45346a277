// @peculiar/x509 on Node's WebCrypto. The library resolves its parsers through tsyringe, which
// needs the Reflect metadata API loaded before it: this module is the one place that loads it.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

// Node's WebCrypto, typed as the DOM's (which the library's types name).
const webcrypto = globalThis.crypto
x509.cryptoProvider.set(webcrypto)

export { x509, webcrypto }

/** ECDSA P-256 with SHA-256: what every stock TLS stack takes for a client or server certificate. */
export const CA_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
