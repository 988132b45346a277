// The signals that end jit, per platform: one place, so that every command holding a session
// revokes on all of them and the broker and gateway stop cleanly on all of them.
// On Windows, Node raises SIGINT for Ctrl-C, SIGBREAK for Ctrl-Break, and SIGHUP when the console
// window is closed (Windows then ends the process about 10 seconds later, time enough to revoke);
// SIGTERM can be listened for but Windows never sends it. SIGQUIT does not exist there.

/** What ends a command that holds a session (jit exec, shell, connect, ssh): revoke, then exit. */
export function sessionEndingSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']
}

/**
 * What stops the broker or the gateway. SIGHUP is not among them off Windows: there it asks the
 * broker to re-read its policy. On Windows it means the console is closing.
 */
export function serverStopSignals(platform: NodeJS.Platform = process.platform): NodeJS.Signals[] {
  return platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGBREAK', 'SIGHUP'] : ['SIGINT', 'SIGTERM']
}

/** Signals that a keyboard sends to the whole console or foreground process group (so a child already got them). */
export function fromKeyboard(signal: NodeJS.Signals): boolean {
  return signal === 'SIGINT' || signal === 'SIGBREAK'
}
