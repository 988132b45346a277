// The SSH certificate endpoints: the signing request of `jit ssh` and the broker's answer.

export const SSH_CA_PUB_PATH = '/ssh/ca.pub'
export const SSH_KRL_PATH = '/ssh/krl'
export const SSH_CERTIFICATES_PATH = '/ssh/certificates'

/** The signing request (its schema: src/wire/api-bodies.ts, which only the broker loads). */
export type { SshCertificateBody } from './api-bodies.js'

export interface SshCertificateResult {
  /** "ssh-ed25519-cert-v01@openssh.com AAAA... KEY_ID", as ssh-keygen -s writes it. */
  certificate: string
  serial: number
  keyId: string
  principals: string[]
  validAfter: string
  validBefore: string
  extensions: string[]
  caFingerprint: string
  /** Where to connect, from the asset's ssh attributes (also the name its host key is known by). */
  host: string
  port: number
  /** The asset's gateway, when it has one: ssh must reach the host through it (GET /sessions/:id/gateway). */
  gateway?: string
}
