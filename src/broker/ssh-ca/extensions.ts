// What an SSH certificate lets its holder do beyond running commands, by session scope. Agent and
// X11 forwarding and ~/.ssh/rc are never granted: they would carry the technician's desktop into
// the plant. Port forwarding (and with it ProxyJump through the host) only for scopes that change
// things; look-only scopes get a terminal and nothing else.
const LOOK_ONLY = new Set(['read', 'diagnose'])

export function extensionsForScope(scope: string): string[] {
  return LOOK_ONLY.has(scope) ? ['permit-pty'] : ['permit-port-forwarding', 'permit-pty']
}
