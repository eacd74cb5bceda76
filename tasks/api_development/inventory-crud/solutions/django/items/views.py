"""Views of the /v1/items resource, plus the JSON error handlers."""

import hmac
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.views import View
from django.views.decorators.http import require_GET

from . import validation
from .errors import ApiError, Conflict, NotFound, Unauthorized, ValidationError, error_response
from .models import Item

SORTS = {
    "price": ("price", "id"),
    "-price": ("-price", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "id"),
}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def has_valid_token(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.APP_SECRET.encode())


class ApiView(View):
    """Writes need the bearer token; ApiError becomes its JSON error response."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            if request.method not in READ_METHODS and not has_valid_token(request):
                raise Unauthorized("A valid bearer token is required.")
            return super().dispatch(request, *args, **kwargs)
        except ApiError as error:
            return error.response()

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = error_response(405, "method_not_allowed", "The method is not allowed for this URL.")
        response["Allow"] = ", ".join(method.upper() for method in self._allowed_methods())
        return response


def get_item_or_404(raw_id: str, *, for_update: bool = False) -> Item:
    item_id = validation.item_id(raw_id)
    queryset = Item.objects.select_for_update() if for_update else Item.objects.all()
    item = queryset.filter(pk=item_id).first() if item_id is not None else None
    if item is None:
        raise NotFound("No item with that id.")
    return item


class ItemCollectionView(ApiView):
    def get(self, request: HttpRequest) -> JsonResponse:
        query = request.GET
        limit = validation.int_param(query, "limit", 20, 1, 100)
        offset = validation.int_param(query, "offset", 0, 0)
        sort = query.get("sort", "created_at")
        if sort not in SORTS:
            raise ValidationError(f"sort must be one of {', '.join(SORTS)}.")
        name = validation.text_param(query, "name")
        min_price = validation.number_param(query, "min_price")
        max_price = validation.number_param(query, "max_price")

        items = Item.objects.all()
        if name is not None:
            items = items.filter(name=name)
        if min_price is not None:
            items = items.filter(price__gte=min_price)
        if max_price is not None:
            items = items.filter(price__lte=max_price)
        total = items.count()
        page = items.order_by(*SORTS[sort])[offset : offset + limit] if offset < total else []
        return JsonResponse(
            {"items": [item.to_json() for item in page], "total": total, "limit": limit, "offset": offset}
        )

    def post(self, request: HttpRequest) -> JsonResponse:
        fields = validation.item_fields(validation.json_object(request), partial=False)
        try:
            with transaction.atomic():
                item = Item.objects.create(**fields)
        except IntegrityError:
            raise Conflict("An item with that name already exists.") from None
        response = JsonResponse(item.to_json(), status=201)
        response["Location"] = reverse("item-detail", args=[item.pk])
        return response


class ItemDetailView(ApiView):
    def get(self, request: HttpRequest, item_id: str) -> JsonResponse:
        return JsonResponse(get_item_or_404(item_id).to_json())

    def patch(self, request: HttpRequest, item_id: str) -> JsonResponse:
        validation.item_id(item_id)  # a malformed id is a validation error before the body is read
        changes = validation.item_fields(validation.json_object(request), partial=True)
        try:
            with transaction.atomic():
                item = get_item_or_404(item_id, for_update=True)
                for field, value in changes.items():
                    setattr(item, field, value)
                if changes:
                    item.save(update_fields=list(changes))
        except IntegrityError:
            raise Conflict("An item with that name already exists.") from None
        return JsonResponse(item.to_json())

    def delete(self, request: HttpRequest, item_id: str) -> HttpResponse:
        deleted = 0
        key = validation.item_id(item_id)
        if key is not None:
            deleted, _ = Item.objects.filter(pk=key).delete()
        if not deleted:
            raise NotFound("No item with that id.")
        return HttpResponse(status=204)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    return error_response(400, "bad_request", "The request could not be understood.")


def page_not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return error_response(404, "not_found", "No such URL.")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "internal_error", "Internal server error.")
