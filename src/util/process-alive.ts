// Whether a process id names a live process on this machine (signal 0 checks without sending;
// EPERM means it lives under another user).
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
