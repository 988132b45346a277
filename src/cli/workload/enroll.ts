// `jit workload enroll`: make the workload's key pair on this host, enroll its public half with
// the one-time join token, and keep the private half in the workload's folder (0700, key 0600).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BrokerClient } from '../broker-client/broker-client.js'
import { newDeviceKeyPair } from '../device/device-key.js'
import { UsageError } from '../../errors.js'
import { saveWorkloadEnrollment, workloadFolder, type WorkloadEnrollment } from './workload-folder.js'

export interface EnrollOptions {
  name: string
  broker: string
  /** A file holding the token, or '-' for stdin; else JIT_JOIN_TOKEN. Never argv: a token on a command line is seen by every user of the host. */
  tokenFile?: string
  dir?: string
  caFile?: string
  insecure?: boolean
}

function readToken(tokenFile: string | undefined): string {
  let token: string | undefined
  try {
    token = tokenFile === '-' ? readFileSync(0, 'utf8') : tokenFile !== undefined ? readFileSync(tokenFile, 'utf8') : process.env.JIT_JOIN_TOKEN
  } catch (error) {
    throw new UsageError(`Cannot read the join token from ${tokenFile} (${(error as Error).message}).`)
  }
  token = token?.trim()
  if (!token) throw new UsageError('No join token: give --token-file FILE (or - for stdin), or set JIT_JOIN_TOKEN.', ['Make one on the broker host: jit admin workload join-token NAME'])
  return token
}

export async function enrollWorkload(options: EnrollOptions): Promise<WorkloadEnrollment & { folder: string }> {
  const folder = workloadFolder(options.name, options.dir)
  if (existsSync(join(folder, 'key.pem'))) throw new UsageError(`Workload ${options.name} is already enrolled here (${folder}).`, ['To enroll it again, remove that folder first (and disable the old key: jit admin workload show NAME).'])
  const token = readToken(options.tokenFile)
  const { privateKey, publicJwk } = newDeviceKeyPair()
  const client = new BrokerClient({ broker: options.broker, caFile: options.caFile, insecure: options.insecure })
  try {
    const answer = await client.post<{ deviceId: string; workload: string; spiffeId: string; issuer: string }>('/workloads/enroll', { token, publicKey: publicJwk })
    if (answer.workload !== options.name) throw new UsageError(`That join token is for workload ${answer.workload}, not ${options.name}; nothing was kept on this host.`, [`Enroll it as ${answer.workload}, and ask an admin to remove the stray key (jit admin workload show ${answer.workload}).`])
    const enrollment: WorkloadEnrollment = {
      workload: answer.workload, spiffeId: answer.spiffeId, deviceId: answer.deviceId, broker: options.broker, issuer: answer.issuer,
      ...(options.caFile ? { caFile: options.caFile } : {}), ...(options.insecure ? { insecure: true } : {}),
    }
    saveWorkloadEnrollment(folder, enrollment, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)
    return { ...enrollment, folder }
  } finally {
    await client.close()
  }
}
