"""gunicorn's entry for the Django reference: `gunicorn --workers 2 wsgi:application` from this folder."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
