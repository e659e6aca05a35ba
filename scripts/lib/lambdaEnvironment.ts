import type { Template } from './cfnYaml.ts';

/** What the Lambda runtime sets for every function (values are placeholders). */
const LAMBDA_RUNTIME_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'placeholder',
  AWS_SECRET_ACCESS_KEY: 'placeholder',
  AWS_SESSION_TOKEN: 'placeholder',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
  LAMBDA_TASK_ROOT: '/var/task',
};

/**
 * The environment a function's bundle sees at its cold start in Lambda, from template.yaml:
 * Globals + the function's variables + what Lambda sets, so the module-scope code
 * (configuration, clients) runs as it does there. A `!Ref` to a parameter takes the parameter's
 * default; any other intrinsic (a queue URL, a bucket name) becomes a placeholder string.
 * `NODE_OPTIONS` is left out: the caller chooses the Node flags.
 */
function lambdaEnvironment(template: Template, logicalId: string): Record<string, string> {
  const variables = (source: unknown): Record<string, unknown> =>
    ((source as { Environment?: { Variables?: Record<string, unknown> } } | undefined)?.Environment
      ?.Variables ?? {}) as Record<string, unknown>;
  const merged = {
    ...variables((template as { Globals?: { Function?: unknown } }).Globals?.Function),
    ...variables(template.Resources[logicalId]?.Properties),
  };
  const parameters = ((template as { Parameters?: Record<string, { Default?: unknown }> })
    .Parameters ?? {}) as Record<string, { Default?: unknown }>;
  const resolveValue = (name: string, value: unknown): string => {
    if (value === null || typeof value !== 'object') return String(value);
    const ref = (value as { Ref?: unknown }).Ref;
    const fallback = typeof ref === 'string' ? parameters[ref]?.Default : undefined;
    return fallback === undefined ? `placeholder-${name.toLowerCase()}` : String(fallback);
  };
  const env: Record<string, string> = { ...LAMBDA_RUNTIME_ENV };
  for (const [name, value] of Object.entries(merged)) {
    if (name !== 'NODE_OPTIONS') env[name] = resolveValue(name, value);
  }
  env.AWS_LAMBDA_FUNCTION_NAME = logicalId;
  return env;
}

export { lambdaEnvironment };
