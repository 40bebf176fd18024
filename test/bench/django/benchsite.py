"""
The Django reference's settings: Django 3.2's contrib.auth on this project's tables (they are Django's), sessions in
the database (django_session, created by sessions.py), under gunicorn. Production settings: DEBUG off, persistent
database connections.

Environment: DATABASE_URL (the bench's scratch database), DJANGO_SECRET_KEY.
"""
import os
from urllib.parse import unquote, urlparse

_url = urlparse(os.environ["DATABASE_URL"])

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "benchurls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or 5432),
        # One connection per worker, kept: as deployed.
        "CONN_MAX_AGE": 600,
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
