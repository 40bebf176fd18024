/**
 * The polls app: Django's tutorial app built on the package, as a team builds its own. It brings its models and
 * their permissions (models.ts), its tables (migrations/), its SDL (schema.graphql), its resolvers and a named
 * policy (resolvers.ts), and demo data; the server loads it from the settings:
 *
 *   INSTALLED_APPS=./examples/polls/index.ts
 *
 * Beside it, the app's own authentication backend (organiser-backend.ts) and password validator (validator.ts)
 * are named in AUTHENTICATION_BACKENDS and PASSWORD_VALIDATORS. docs/apps.md walks through it.
 */
import fs from 'node:fs';
import { defineApp } from 'graphql-auth-server';
import { Migration20261123030000_polls } from './migrations/Migration20261123030000_polls.ts';
import { Choice, entities, models, Poll } from './models.ts';
import { pollsPolicies, pollsResolvers } from './resolvers.ts';

const DEMO_POLLS = [
  { question: "What's new?", choices: ['Not much', 'The sky'] },
  { question: 'Tabs or spaces?', choices: ['Tabs', 'Spaces', 'Both'] },
];

export default defineApp({
  label: 'polls',
  models,
  entities,
  migrations: [{ name: 'Migration20261123030000_polls', class: Migration20261123030000_polls }],
  // Django's own shape (its constraint names), adopted as it is from a Django project: not MikroORM's to rewrite.
  tables: ['polls_poll', 'polls_choice'],
  typeDefs: [fs.readFileSync(new URL('schema.graphql', import.meta.url), 'utf8')],
  resolvers: [pollsResolvers],
  policies: pollsPolicies,
  demo: {
    groupPermissions: {
      Editors: ['polls.view_poll', 'polls.add_poll', 'polls.change_poll', 'polls.add_choice', 'polls.view_choice'],
      Viewers: ['polls.view_poll', 'polls.view_choice'],
    },
    async seed(em) {
      if ((await em.count(Poll, {})) > 0) return undefined;
      for (const { question, choices } of DEMO_POLLS) {
        const poll = em.create(Poll, { question, pubDate: new Date() });
        for (const text of choices) em.create(Choice, { poll, text, votes: 0 });
      }
      await em.flush();
      return `${DEMO_POLLS.length} polls`;
    },
  },
});
