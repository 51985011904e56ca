/**
 * A small line diff (longest common subsequence) for showing what a promotion changed in a
 * prompt. Prompts are short (at most 50,000 characters), so the quadratic table is cheap; past
 * `maxCells` the middle part is shown as replaced wholesale instead of spending the memory.
 */

export type DiffOp = 'equal' | 'add' | 'del';

export interface DiffLine {
  op: DiffOp;
  text: string;
  /** 1-based line number in the old text (equal and del lines). */
  oldNo?: number;
  /** 1-based line number in the new text (equal and add lines). */
  newNo?: number;
}

export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: DiffLine[];
}

export interface LineDiff {
  added: number;
  removed: number;
  /** True when the texts were too different to align line by line (replaced wholesale). */
  coarse: boolean;
  hunks: DiffHunk[];
}

/** "a\nb\n" -> ["a", "b"]; CRLF and CR count as line breaks; "" -> []. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Every line of both texts, in order, marked equal, added or deleted. */
export function diffLines(oldText: string, newText: string, opts: { maxCells?: number } = {}): { lines: DiffLine[]; coarse: boolean } {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const maxCells = opts.maxCells ?? 4_000_000;

  // Common prefix and suffix need no table.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }

  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++) out.push({ op: 'equal', text: a[i]!, oldNo: i + 1, newNo: i + 1 });

  const n = endA - start;
  const m = endB - start;
  let coarse = false;
  if (n > 0 && m > 0 && (n + 1) * (m + 1) > maxCells) {
    coarse = true;
    for (let i = start; i < endA; i++) out.push({ op: 'del', text: a[i]!, oldNo: i + 1 });
    for (let j = start; j < endB; j++) out.push({ op: 'add', text: b[j]!, newNo: j + 1 });
  } else if (n > 0 || m > 0) {
    // Intern lines as integers: comparisons in the table are then cheap.
    const ids = new Map<string, number>();
    const intern = (s: string) => {
      let id = ids.get(s);
      if (id === undefined) ids.set(s, (id = ids.size));
      return id;
    };
    const x = Int32Array.from({ length: n }, (_, i) => intern(a[start + i]!));
    const y = Int32Array.from({ length: m }, (_, j) => intern(b[start + j]!));
    // L[i][j] = length of the LCS of x[i..] and y[j..], row-major with width m + 1.
    const w = m + 1;
    const L = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i * w + j] = x[i] === y[j] ? L[(i + 1) * w + j + 1]! + 1 : Math.max(L[(i + 1) * w + j]!, L[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) {
        out.push({ op: 'equal', text: a[start + i]!, oldNo: start + i + 1, newNo: start + j + 1 });
        i++;
        j++;
      } else if (j >= m || (i < n && L[(i + 1) * w + j]! >= L[i * w + j + 1]!)) {
        out.push({ op: 'del', text: a[start + i]!, oldNo: start + i + 1 });
        i++;
      } else {
        out.push({ op: 'add', text: b[start + j]!, newNo: start + j + 1 });
        j++;
      }
    }
  }

  for (let k = 0; k < a.length - endA; k++) {
    out.push({ op: 'equal', text: a[endA + k]!, oldNo: endA + k + 1, newNo: endB + k + 1 });
  }
  return { lines: out, coarse };
}

/** Groups changed lines with `context` unchanged lines around them (as `diff -U`). */
export function toHunks(lines: DiffLine[], context = 3): DiffHunk[] {
  const changed = lines.map((l, i) => (l.op === 'equal' ? -1 : i)).filter((i) => i >= 0);
  const hunks: DiffHunk[] = [];
  let k = 0;
  while (k < changed.length) {
    const from = Math.max(0, changed[k]! - context);
    let to = Math.min(lines.length - 1, changed[k]! + context);
    k++;
    while (k < changed.length && changed[k]! - context <= to + 1) {
      to = Math.min(lines.length - 1, changed[k]! + context);
      k++;
    }
    const slice = lines.slice(from, to + 1);
    // Where the hunk starts in each text: the first line that has a number there, or the line
    // after the last one before the hunk (for a hunk that only adds or only deletes).
    const startIn = (key: 'oldNo' | 'newNo') => {
      const first = slice.find((l) => l[key] !== undefined)?.[key];
      if (first !== undefined) return first;
      for (let i = from - 1; i >= 0; i--) {
        const no = lines[i]![key];
        if (no !== undefined) return no + 1;
      }
      return 1;
    };
    hunks.push({
      oldStart: startIn('oldNo'),
      oldLines: slice.filter((l) => l.op !== 'add').length,
      newStart: startIn('newNo'),
      newLines: slice.filter((l) => l.op !== 'del').length,
      lines: slice,
    });
  }
  return hunks;
}

/** The diff as the dashboard shows it: counts and hunks with context. */
export function lineDiff(oldText: string, newText: string, opts: { context?: number; maxCells?: number } = {}): LineDiff {
  const { lines, coarse } = diffLines(oldText, newText, { maxCells: opts.maxCells });
  return {
    added: lines.filter((l) => l.op === 'add').length,
    removed: lines.filter((l) => l.op === 'del').length,
    coarse,
    hunks: toHunks(lines, opts.context ?? 3),
  };
}
