/**
 * Regenerates the feature-group section of template.yaml from shared/definitions.ts.
 * Run after changing a definition: `npm run gen:template`. CI fails when they disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { featureGroups } from '../shared/definitions.ts';
import { replaceGeneratedBlock } from './lib/generatedResources.ts';

const path = new URL('../template.yaml', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = replaceGeneratedBlock(before, featureGroups);
if (after === before) {
  console.log('template.yaml is up to date with shared/definitions.ts');
} else {
  writeFileSync(path, after);
  console.log(
    `template.yaml: regenerated ${featureGroups.length} feature groups from shared/definitions.ts`
  );
}
