/**
 * The polls app's tables, as Django's tutorial app (`polls`, models Poll and Choice) creates them on PostgreSQL:
 * the same names, columns, index and foreign key. Existing tables (a Django project's) are left as they are.
 */
import { Migration } from '@mikro-orm/migrations';
import { createIfMissing } from 'graphql-auth-server';

export class Migration20261123030000_polls extends Migration {
  override up(): void {
    this.addSql(
      createIfMissing(
        'polls_poll',
        `
    CREATE TABLE public.polls_poll (
      id serial NOT NULL,
      question character varying(200) NOT NULL,
      pub_date timestamp with time zone NOT NULL,
      CONSTRAINT polls_poll_pkey PRIMARY KEY (id)
    );`,
      ),
    );
    this.addSql(
      createIfMissing(
        'polls_choice',
        `
    CREATE TABLE public.polls_choice (
      id serial NOT NULL,
      choice_text character varying(200) NOT NULL,
      votes integer NOT NULL,
      poll_id integer NOT NULL,
      CONSTRAINT polls_choice_pkey PRIMARY KEY (id),
      CONSTRAINT polls_choice_poll_id_3a553f1a_fk_polls_poll_id FOREIGN KEY (poll_id)
        REFERENCES public.polls_poll (id) DEFERRABLE INITIALLY DEFERRED
    );
    CREATE INDEX polls_choice_poll_id_3a553f1a ON public.polls_choice USING btree (poll_id);`,
      ),
    );
  }

  override down(): void {
    this.addSql('DROP TABLE IF EXISTS public.polls_choice');
    this.addSql('DROP TABLE IF EXISTS public.polls_poll');
  }
}
