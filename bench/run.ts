/**
 * `npm run bench`: runs every benchmark of the project in turn (each starts its own servers on
 * 127.0.0.1 and bounds its own loops) and writes BENCHMARKS.md with the figures, the machine,
 * the date and the command. `npm run bench -- store lookup` runs a subset.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, type } from 'node:os';
import { sectionBody } from './harness.ts';
import type { Bench, BenchSection } from './types.ts';

const ALL = [
  'store',
  'ingest',
  'lookup',
  'backfill',
  'batch',
  'audit',
  'dataset',
  'derived',
  'coldStart',
  'cli',
] as const;

const root = new URL('..', import.meta.url);
const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = (requested.length > 0 ? requested : ALL).filter((name) => {
  const present = existsSync(new URL(`bench/${name}.ts`, root));
  if (!present) console.error(`bench/${name}.ts does not exist; skipped`);
  return present;
});

const sections: { name: string; section?: BenchSection; error?: string; seconds: number }[] = [];
for (const name of names) {
  const started = performance.now();
  process.stderr.write(`\n== bench ${name}\n`);
  try {
    const bench = (await import(`./${name}.ts`)).default as Bench;
    const section = await bench();
    sections.push({ name, section, seconds: (performance.now() - started) / 1000 });
    for (const row of section.rows) {
      process.stderr.write(
        `  ${row.metric}: ${row.value}${row.goal ? ` (goal ${row.goal}: ${row.met ? 'met' : 'NOT met'})` : ''}\n`
      );
    }
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    sections.push({ name, error: message, seconds: (performance.now() - started) / 1000 });
    process.stderr.write(`  FAILED: ${message}\n`);
  }
}

const cpu = cpus();
const lines = [
  '# Benchmarks',
  '',
  `Produced by \`npm run bench\` on ${new Date().toISOString()} — ${type()} ${process.arch}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}.`,
  'Every server binds to 127.0.0.1; every loop is bounded. These machines are shared and noisy:',
  'relative goals are judged on ratios against a baseline measured in the same run.',
  'How to run one section, and the environment variables that size the benchmarks: [bench/README.md](bench/README.md).',
  '',
];
for (const { name, section, error, seconds } of sections) {
  lines.push(`## ${section?.title ?? name}`, '');
  if (error !== undefined) {
    lines.push('**Failed:**', '', '```', error, '```', '');
    continue;
  }
  if (section === undefined) continue;
  lines.push(...sectionBody(section));
  lines.push('', `_${name}: ${seconds.toFixed(1)} s_`, '');
}
if (requested.length === 0) {
  writeFileSync(new URL('BENCHMARKS.md', root), `${lines.join('\n')}\n`);
  process.stderr.write('\nwrote BENCHMARKS.md\n');
} else {
  process.stdout.write(`${lines.join('\n')}\n`);
}
process.exitCode = sections.some((s) => s.error !== undefined) ? 1 : 0;
