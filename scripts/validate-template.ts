/**
 * `npm run validate:template`: cfn-lint (CloudFormation properties, after the SAM transform),
 * then the project's template checks (SAM JSON schema, drift from shared/definitions.ts,
 * handlers and policies) which also run inside `npm test`.
 */
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const run = (command: string, args: string[]) => {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`${command}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
};

run('cfn-lint', ['template.yaml']);
run('npx', ['vitest', 'run', 'test/template']);
console.log('template.yaml is valid');
