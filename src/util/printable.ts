// Text that users supply (reasons, comments, ticket ids, device names, review answers) is shown
// to other people: in an approver's terminal, in chat. Control characters in it could rewrite
// what they see (an escape sequence that moves the cursor and paints a "read" row over a
// "control" request, a carriage return that hides the start of a line, a bidi override that
// reverses it). printable() shows every such character as a visible escape instead, so a reader
// sees exactly the text that was sent, control characters included.

// C0 controls and DEL, C1 controls, and the Unicode format characters that reorder or hide text:
// bidi embeddings, overrides and isolates, zero-width characters, line and paragraph separators.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g

export function printable(text: unknown): string {
  return String(text ?? '').replace(UNPRINTABLE, (char) => {
    const code = char.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}
