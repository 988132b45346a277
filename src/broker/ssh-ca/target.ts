// An asset's SSH endpoint and principals, read from its attributes (`ssh: { host, port?, principals }`,
// host may carry the port as host:port or [v6]:port). Anything malformed means no SSH (fail closed).
export interface SshTarget {
  host: string
  port: number
  principals: string[]
}

const PRINCIPAL = /^[A-Za-z0-9._][A-Za-z0-9._@-]{0,63}$/

export function sshTargetOf(attributes: Record<string, unknown> | undefined): SshTarget | undefined {
  const ssh = attributes?.ssh as { host?: unknown; port?: unknown; principals?: unknown } | undefined
  if (!ssh || typeof ssh !== 'object' || typeof ssh.host !== 'string') return undefined
  const endpoint = splitHostPort(ssh.host)
  if (!endpoint) return undefined
  const port = typeof ssh.port === 'number' ? ssh.port : endpoint.port ?? 22
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined
  const principals = Array.isArray(ssh.principals) ? ssh.principals : []
  if (principals.length === 0 || !principals.every((p) => typeof p === 'string' && PRINCIPAL.test(p))) return undefined
  return { host: endpoint.host, port, principals: principals as string[] }
}

function splitHostPort(value: string): { host: string; port?: number } | undefined {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(value)
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : undefined }
  const plain = /^([A-Za-z0-9][A-Za-z0-9.-]{0,252})(?::(\d{1,5}))?$/.exec(value)
  if (plain) return { host: plain[1], port: plain[2] ? Number(plain[2]) : undefined }
  return undefined
}
