/**
 * Lint: no test, bench, example or doc depends on the calendar.
 *
 * A literal date in a test or a doc example ages: a record dated 2026-11-01 in a group with a
 * 30-day online TTL is expired on 2026-12-01 and the test turns red with no change to the code
 * (issue "Keep the zero-skew promise…" §1). This check finds literal dates (ISO-8601 and epoch
 * seconds / milliseconds) and fails unless each one is declared safe where it stands:
 *
 * - a whole file: `calendar-fixed: <why>` in a comment on its first line (pure functions of their
 *   input, groups without TTL, offline-only history…);
 * - one line: `calendar-fixed` on that line or the line before;
 * - one Markdown block: `<!-- calendar-fixed: <why> -->` just before the fence (output samples);
 * - a data file that cannot hold a comment: `DATA_FILES` below, with its reason.
 *
 * Usage: node scripts/check-calendar.ts   (exit 1 and one line per literal when it finds any)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where calendar-dependent literals do harm: what runs in CI and what a newcomer copies (the
 * docs, and the examples the commands print with --help).
 */
const SCANNED =
  /^(test|bench|examples|local\/demo|local\/cli|bin)\/|^local\/store\/cli\.ts$|^docs\/.*\.md$|^README\.md$/;

/** Data files that cannot carry a marker, and why their fixed dates are safe. */
const DATA_FILES: Readonly<Record<string, string>> = {
  'examples/backfill/fraud-cards-october.csv':
    'offline-only history for `skewless backfill`: the offline store has no TTL, and tests derive expectations from the file',
};

const MARKER = 'calendar-fixed';

// 19xx–21xx ISO dates, extended (2026-01-01) and basic with a time (20260101T000000Z, as in
// X-Amz-Date and the offline file names); a year given to Date.UTC or the Date constructor
// (Date.UTC(2024, 0, 1) names a day as surely as '2024-01-01'); epoch seconds 2017–2033 (10
// digits) and milliseconds (13 digits).
const LITERAL =
  /(?<!\d)(?:19|20|21)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)|(?<![\d.])(?:19|20|21)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])T\d{4}|(?:Date\.UTC|new Date)\(\s*(?:19|20|21)\d{2}\s*,|(?<![\d.])1[5-9]\d{8}(?:\d{3})?(?![\d.])/g;

export interface CalendarLiteral {
  readonly path: string;
  readonly line: number;
  readonly literal: string;
}

/** Literal dates of one file that carry no `calendar-fixed` declaration. */
export function findCalendarLiterals(path: string, text: string): CalendarLiteral[] {
  if (path in DATA_FILES) return [];
  const lines = text.split('\n');
  if ((lines[0] ?? '').includes(`${MARKER}:`)) return [];
  const found: CalendarLiteral[] = [];
  const markdown = path.endsWith('.md');
  let inFence = false;
  let fenceExempt = false;
  lines.forEach((line, i) => {
    if (markdown && /^\s*(```|~~~)/.test(line)) {
      fenceExempt = !inFence && (lines[i - 1] ?? '').includes(MARKER);
      inFence = !inFence;
      return;
    }
    if (fenceExempt && inFence) return;
    if (line.includes(MARKER) || (lines[i - 1] ?? '').includes(MARKER)) return;
    for (const match of line.matchAll(LITERAL)) {
      found.push({ path, line: i + 1, literal: match[0] });
    }
  });
  return found;
}

function trackedFiles(root: string): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((p) => SCANNED.test(p));
}

function main(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const found = trackedFiles(root).flatMap((p) => {
    let text: string;
    try {
      text = readFileSync(new URL(p, `file://${root}`), 'utf8');
    } catch {
      return []; // deleted in the work tree
    }
    return findCalendarLiterals(p, text);
  });
  for (const f of found) {
    console.error(
      `${f.path}:${f.line}: literal date ${f.literal}: make it relative to the clock, or declare why it is safe with "${MARKER}: <why>"`
    );
  }
  if (found.length > 0) {
    console.error(
      `${found.length} calendar-dependent literal(s); see scripts/check-calendar.ts for the rules`
    );
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
