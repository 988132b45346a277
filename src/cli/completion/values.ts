// Values for shell completion, asked of the broker as this device: session ids, asset paths the
// policy lets this user ask for, tickets of their recent requests, request ids to collect or to
// decide. Completion must never get in the way: anything that fails yields no values.
import type { CliContext } from '../context.js'
import type { AccessRequest, SessionInfo } from '../../wire/api.js'

export const COMPLETION_KINDS = ['sessions', 'assets', 'tickets', 'requests', 'approvals'] as const
export type CompletionKind = (typeof COMPLETION_KINDS)[number]

export async function completionValues(cli: CliContext, kind: CompletionKind): Promise<string[]> {
  const client = await cli.client()
  switch (kind) {
    case 'sessions':
      return (await client.get<{ sessions: SessionInfo[] }>('/sessions')).sessions.map((s) => s.id)
    case 'assets':
      return (await client.get<{ assets: string[] }>('/assets')).assets
    case 'tickets': {
      const { requests } = await client.get<{ requests: AccessRequest[] }>('/requests')
      return [...new Set(requests.map((r) => r.ticket).filter((t) => t !== 'none'))]
    }
    case 'requests': {
      const { requests } = await client.get<{ requests: AccessRequest[] }>('/requests')
      return requests.filter((r) => r.state === 'pending' || (r.state === 'approved' && r.approvalsNeeded > 0)).map((r) => r.id)
    }
    case 'approvals':
      return (await client.get<{ requests: AccessRequest[] }>('/requests?pending=true')).requests.map((r) => r.id)
  }
}

/**
 * Bash glue on top of oclif's completion (`jit autocomplete script bash`): after --asset and
 * --ticket, and where a command takes a session or request id, the values come from the broker.
 */
export const BASH_DYNAMIC_COMPLETION = `
# jit: asset paths, tickets and session/request ids from the broker, on top of jit autocomplete
_jit_complete_dynamic() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" kind=""
  case "$prev" in
    --asset) kind=assets ;;
    --ticket) kind=tickets ;;
  esac
  if [[ -z "$kind" && "$cur" != -* ]]; then
    case "$COMP_CWORD \${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
      "2 revoke "*|"2 renew "*|"2 credential "*|"3 sessions show") kind=sessions ;;
      "3 sessions pickup"|"2 cancel "*) kind=requests ;;
      "2 approve "*|"2 deny "*) kind=approvals ;;
    esac
  fi
  if [[ -n "$kind" ]]; then
    COMPREPLY=( $(compgen -W "$(jit complete "$kind" 2>/dev/null)" -- "$cur") )
    return 0
  fi
  _jit_autocomplete "$@"
}
complete -F _jit_complete_dynamic jit
`
