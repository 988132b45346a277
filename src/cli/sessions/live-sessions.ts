// `jit sessions --all` and `jit sessions --asset PATTERN`: the plant's live sessions as the broker
// lists them for those who oversee them (security and admin: every one; an asset owner group's
// members: those on the assets their group owns). The plain `jit sessions` lists one's own.
import type { CliContext } from '../context.js'
import type { LiveSessionList } from '../../wire/api.js'

export async function listLiveSessions(cli: CliContext, asset?: string): Promise<LiveSessionList> {
  return (await cli.client()).get<LiveSessionList>(`/sessions/live${asset === undefined ? '' : `?asset=${encodeURIComponent(asset)}`}`)
}

/** Who, asset, scope, ticket, started, ends (and time left by the broker's clock) per session; "none" on stderr. */
export async function printLiveSessions(list: LiveSessionList, log: (text: string) => void): Promise<void> {
  const { table, ui, timeLeft } = await import('../output.js')
  if (list.sessions.length === 0) {
    ui.info('No live sessions.')
    return
  }
  const now = Date.parse(list.now)
  const at = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
  const rows = list.sessions.map((s) => [s.id, s.user, s.asset, s.scope, s.ticket, s.kind, at(s.issuedAt), at(s.expiresAt), timeLeft(Date.parse(s.expiresAt), now)])
  log(await table(['id', 'who', 'asset', 'scope', 'ticket', 'kind', 'started', 'ends', 'left'], rows))
}
