/**
 * `npm run docs:settings`: writes docs/configuration.md and .env.example from the settings' declarations. Run it after
 * changing a setting; test/docs.test.ts fails until you do.
 */
import fs from 'node:fs';
import { configurationDoc, envExample } from './documentation.js';

const root = new URL('../../', import.meta.url);
fs.mkdirSync(new URL('docs/', root), { recursive: true });
fs.writeFileSync(new URL('docs/configuration.md', root), configurationDoc());
fs.writeFileSync(new URL('.env.example', root), envExample());
console.log('wrote docs/configuration.md and .env.example');
