"""The Django reference's one route: `/me`, the session's user with its groups and get_all_permissions()."""
from django.http import JsonResponse
from django.urls import path


def me(request):
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"me": None}, status=401)
    return JsonResponse(
        {
            "me": {
                "id": str(user.pk),
                "username": user.username,
                "groups": [{"name": group.name} for group in user.groups.all()],
                "permissions": sorted(user.get_all_permissions()),
            }
        }
    )


urlpatterns = [path("me", me)]
