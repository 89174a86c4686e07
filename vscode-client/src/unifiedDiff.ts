// Applies a unified diff from an answer to the text of one document, so the panel can show
// the result in a diff editor before anything is changed. Hunks are located by their context
// lines, not trusted line numbers: the model may have numbered them against an older version.

export interface Hunk {
  /** 1-based line of the hunk in the old text, as the header says (a hint only). */
  oldStart: number;
  /** Lines of the old text the hunk expects (context and removed). */
  before: string[];
  /** Lines that replace them (context and added). */
  after: string[];
}

export function parseUnifiedDiff(diff: string): Hunk[] {
  const hunks: Hunk[] = [];
  let current: Hunk | undefined;
  for (const line of diff.replace(/\r\n/g, '\n').split('\n')) {
    const header = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/.exec(line);
    if (header) {
      current = { oldStart: Number(header[1]), before: [], after: [] };
      hunks.push(current);
      continue;
    }
    if (!current || line.startsWith('--- ') || line.startsWith('+++ ') || line.startsWith('\\')) {
      continue;
    }
    if (line.startsWith('-')) {
      current.before.push(line.slice(1));
    } else if (line.startsWith('+')) {
      current.after.push(line.slice(1));
    } else {
      // Context; a blank line in a diff is an empty context line whose leading space was trimmed.
      const context = line.startsWith(' ') ? line.slice(1) : line;
      current.before.push(context);
      current.after.push(context);
    }
  }
  // Trailing blank context lines are usually an artefact of the fence, not part of the hunk.
  for (const hunk of hunks) {
    while (hunk.before.length && hunk.after.length && hunk.before.at(-1) === '' && hunk.after.at(-1) === '') {
      hunk.before.pop();
      hunk.after.pop();
    }
  }
  return hunks.filter((h) => h.before.length || h.after.length);
}

function findBlock(lines: string[], block: string[], hint: number, from: number): number {
  const matchesAt = (start: number) => block.every((expected, i) => lines[start + i]?.trimEnd() === expected.trimEnd());
  const last = lines.length - block.length;
  const nearest = Math.max(from, Math.min(hint, last));
  // Prefer the position nearest to the header's line number.
  for (let distance = 0; distance <= lines.length; distance++) {
    for (const start of [nearest - distance, nearest + distance]) {
      if (start >= from && start <= last && matchesAt(start)) {
        return start;
      }
    }
  }
  return -1;
}

export type DiffApplication = { ok: true; text: string } | { ok: false; error: string };

export function applyUnifiedDiff(original: string, diff: string): DiffApplication {
  const hunks = parseUnifiedDiff(diff);
  if (hunks.length === 0) {
    return { ok: false, error: 'The answer\'s diff has no hunks ("@@ ... @@" sections) to apply.' };
  }
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const lines = original.split(/\r?\n/);
  let offset = 0;
  let from = 0;
  for (const [index, hunk] of hunks.entries()) {
    const start = hunk.before.length === 0 ? Math.min(hunk.oldStart + offset, lines.length) : findBlock(lines, hunk.before, hunk.oldStart - 1 + offset, from);
    if (start < 0) {
      return { ok: false, error: `Hunk ${index + 1} of the diff does not match the current document (was it already applied, or was the file edited?).` };
    }
    lines.splice(start, hunk.before.length, ...hunk.after);
    offset += hunk.after.length - hunk.before.length;
    from = start + hunk.after.length;
  }
  return { ok: true, text: lines.join(eol) };
}
