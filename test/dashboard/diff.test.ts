import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffLines, lineDiff, splitLines, toHunks, type DiffLine } from '../../src/dashboard/diff';

const render = (lines: DiffLine[]) => lines.map((l) => `${l.op === 'add' ? '+' : l.op === 'del' ? '-' : ' '}${l.text}`);
const oldSide = (lines: DiffLine[]) => lines.filter((l) => l.op !== 'add').map((l) => l.text);
const newSide = (lines: DiffLine[]) => lines.filter((l) => l.op !== 'del').map((l) => l.text);

/** Reference LCS length (plain recursion with memo) to check the diff keeps as many lines as possible. */
function lcsLength(a: string[], b: string[]): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0;
    const key = `${i},${j}`;
    let v = memo.get(key);
    if (v === undefined) {
      v = a[i] === b[j] ? go(i + 1, j + 1) + 1 : Math.max(go(i + 1, j), go(i, j + 1));
      memo.set(key, v);
    }
    return v;
  };
  return go(0, 0);
}

describe('line diff', () => {
  it('splits lines: CRLF and CR are line breaks, a final newline adds no empty line', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a')).toEqual(['a']);
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('a\r\nb\rc')).toEqual(['a', 'b', 'c']);
    expect(splitLines('a\n\n')).toEqual(['a', '']);
  });

  it('marks nothing when the texts are equal', () => {
    const d = lineDiff('one\ntwo\n', 'one\r\ntwo');
    expect(d).toEqual({ added: 0, removed: 0, coarse: false, hunks: [] });
  });

  it('finds an insertion, a deletion and a replacement with line numbers on each side', () => {
    const { lines } = diffLines('a\nb\nc\nd\ne', 'a\nB\nc\ne\nf');
    expect(render(lines)).toEqual([' a', '-b', '+B', ' c', '-d', ' e', '+f']);
    expect(lines.find((l) => l.text === 'B')).toMatchObject({ op: 'add', newNo: 2 });
    expect(lines.find((l) => l.text === 'd')).toMatchObject({ op: 'del', oldNo: 4 });
    expect(lines.find((l) => l.text === 'e')).toMatchObject({ op: 'equal', oldNo: 5, newNo: 4 });
  });

  it('diffs against an empty text (a first version)', () => {
    expect(lineDiff('', 'x\ny')).toMatchObject({ added: 2, removed: 0 });
    expect(lineDiff('x\ny', '')).toMatchObject({ added: 0, removed: 2 });
  });

  it('groups changes in hunks with context, as diff -U3 does', () => {
    const old = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const next = [...old];
    next[2] = 'changed 3';
    next.splice(15, 1);
    const { lines } = diffLines(old.join('\n'), next.join('\n'));
    const hunks = toHunks(lines, 3);
    expect(hunks).toHaveLength(2);
    expect(hunks[0]).toMatchObject({ oldStart: 1, oldLines: 6, newStart: 1, newLines: 6 });
    expect(render(hunks[0]!.lines)).toEqual([' line 1', ' line 2', '-line 3', '+changed 3', ' line 4', ' line 5', ' line 6']);
    expect(hunks[1]).toMatchObject({ oldStart: 13, oldLines: 7, newStart: 13, newLines: 6 });
    // Close changes share one hunk.
    expect(toHunks(lines, 6)).toHaveLength(1);
  });

  it('gives a pure insertion hunk the position it inserts at', () => {
    const hunks = toHunks(diffLines('a\nb\nc\nd\ne\nf\ng\nh', 'a\nb\nc\nd\ne\nf\ng\nh\nnew').lines, 0);
    expect(hunks).toEqual([{ oldStart: 9, oldLines: 0, newStart: 9, newLines: 1, lines: [{ op: 'add', text: 'new', newNo: 9 }] }]);
  });

  it('falls back to a wholesale replacement past the size limit', () => {
    const d = diffLines('a\nx\ny\nz', 'a\np\nq\nz', { maxCells: 4 });
    expect(d.coarse).toBe(true);
    expect(render(d.lines)).toEqual([' a', '-x', '-y', '+p', '+q', ' z']);
  });

  it('reconstructs both texts and keeps a longest common subsequence (property)', () => {
    const text = fc.array(fc.constantFrom('alpha', 'beta', 'gamma', 'delta', ''), { maxLength: 14 });
    fc.assert(
      fc.property(text, text, (a, b) => {
        const { lines, coarse } = diffLines(a.join('\n'), b.join('\n'));
        const A = splitLines(a.join('\n'));
        const B = splitLines(b.join('\n'));
        expect(coarse).toBe(false);
        expect(oldSide(lines)).toEqual(A);
        expect(newSide(lines)).toEqual(B);
        expect(lines.filter((l) => l.op === 'equal')).toHaveLength(lcsLength(A, B));
        // Hunks cover every change exactly once.
        const changes = toHunks(lines, 2)
          .flatMap((h) => h.lines)
          .filter((l) => l.op !== 'equal');
        expect(changes).toEqual(lines.filter((l) => l.op !== 'equal'));
      }),
      { numRuns: 300 },
    );
  });

  it('handles a prompt of realistic size quickly', () => {
    const old = Array.from({ length: 1500 }, (_, i) => `Rule ${i}: be helpful about topic ${i % 37}.`).join('\n');
    const next = old.replace('Rule 700:', 'Rule 700 (changed):').replace('Rule 20:', 'Rule twenty:');
    const t = performance.now();
    const d = lineDiff(old, next);
    expect(performance.now() - t).toBeLessThan(1500);
    expect(d).toMatchObject({ added: 2, removed: 2, coarse: false });
    expect(d.hunks).toHaveLength(2);
  });
});
