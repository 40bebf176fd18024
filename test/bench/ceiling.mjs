/**
 * The ceiling: a bare Apollo Server 5 on Express 5 answering `{ me { id } }` from a constant, in plain JavaScript run
 * by plain `node` with `npm start`'s options. No session, no database, no logging: what any GraphQL server on this
 * stack costs at least.
 */
import process from 'node:process';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';

const apollo = new ApolloServer({
  typeDefs: 'type User { id: ID! } type Query { me: User }',
  resolvers: { Query: { me: () => ({ id: '1' }) } },
});
await apollo.start();

const app = express();
app.use('/graphql', express.json(), expressMiddleware(apollo));
app.get('/readyz', (_req, res) => {
  res.json({ status: 'ready' });
});
app.listen(Number(process.env.PORT), '127.0.0.1');
