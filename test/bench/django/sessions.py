"""
Logs the bench's users in through Django's own login(), and prints, as JSON, their session keys and how many SQL
statements Django sends for one `/me` (counted by Django on its test client, outside the timed runs):
`python3 sessions.py PREFIX COUNT`. Creates django_session first when it is missing, through Django's schema editor
(not `migrate`, which would also add content types and permissions to the project's tables).
"""
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model, login  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

prefix, count = sys.argv[1], int(sys.argv[2])
if Session._meta.db_table not in connection.introspection.table_names():
    with connection.schema_editor() as editor:
        editor.create_model(Session)

sessions = []
for user in get_user_model().objects.filter(username__startswith=prefix).order_by("username")[:count]:
    request = RequestFactory().get("/")
    request.session = SessionStore()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.save()
    sessions.append(request.session.session_key)

client = Client()
client.cookies["sessionid"] = sessions[0]
client.get("/me")
with CaptureQueriesContext(connection) as queries:
    response = client.get("/me")
if response.status_code != 200:
    sys.exit(f"/me answered {response.status_code}: {response.content[:200]!r}")
print(json.dumps({"statementsPerMe": len(queries), "sessions": sessions}))
