/**
 * Writes a small labels file for the demo of `npm start`: one row per demo entity (the demo's
 * first payment, then cards card-0001… at merchants merchant-001…), labelled at the current time
 * so the point-in-time join finds what the running demo has written so far.
 *
 * Usage: `npx node examples/dataset/demo-labels.ts labels.csv [rows]`, then
 * `npx skewless dataset labels.csv --feature-set fraud_model_v3 --label-time-column event_time`.
 */
import { writeFileSync } from 'node:fs';

const [file = 'labels.csv', rowsText = '10'] = process.argv.slice(2);
const rows = Number(rowsText);
if (!Number.isInteger(rows) || rows < 1 || rows > 1000) {
  console.error(`rows must be an integer from 1 to 1000, got ${rowsText}`);
  process.exit(1);
}
const labelTime = new Date().toISOString();
const lines = ['transaction_id,card_id,merchant_id,event_time,is_fraud'];
lines.push(`txn-demo-0001,card-0001,merchant-001,${labelTime},0`);
for (let i = 2; i <= rows; i++) {
  const card = `card-${String(i).padStart(4, '0')}`;
  const merchant = `merchant-${String(((i - 1) % 100) + 1).padStart(3, '0')}`;
  lines.push(
    `txn-label-${String(i).padStart(4, '0')},${card},${merchant},${labelTime},${i % 7 === 0 ? 1 : 0}`
  );
}
writeFileSync(file, `${lines.join('\n')}\n`);
console.log(`wrote ${rows} labels at ${labelTime} to ${file}`);
