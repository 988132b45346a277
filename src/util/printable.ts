// Text that users supply (ticket titles, reasons) shown to someone else: control characters
// (terminal escapes, carriage returns, bidirectional overrides) are made visible instead of
// acting on the reader's terminal, so what is shown is exactly what was written.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** Replaces each control character with a visible \uXXXX escape. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
